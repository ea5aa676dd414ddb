// The compiler's entry points: a file or a text to an execution graph plus diagnostics, and a
// REPL session whose definitions persist from one snippet to the next.
#pragma once

#include <memory>
#include <string>

#include "compiler/diagnostics.h"
#include "compiler/graph.h"
#include "compiler/source.h"

namespace sgp::compiler {

struct CompileOptions {
  std::string stdlib_dir;     // "" = default_stdlib_dir() ($SGP_STDLIB or the source tree's)
  bool require_main = false;  // running needs `main`; `sgrun check` doesn't
};

struct CompileResult {
  graph::Program program;  // meaningful only when ok()
  SourceSet sources;       // every file read, indexed by graph::SourceLoc::file
  Diagnostics diagnostics;

  bool ok() const { return !diagnostics.has_errors(); }
  // Every diagnostic as `file:line:col: error: message` + source line + caret.
  std::string format_diagnostics() const { return diagnostics.format(sources); }
};

// Never throws for bad input; runs on a thread with a large stack so deep input can't overflow.
CompileResult compile_file(const std::string& path, const CompileOptions& options = {});
CompileResult compile_source(const std::string& name, const std::string& text,
                             const CompileOptions& options = {});

// REPL: each snippet may define functions, constants, imports and templates (they persist) and
// may hold statements, which become a new function `__repl_N` to run once. Variables bound by
// those statements are Program::globals and keep their slots across snippets, as do function
// indexes: a later Program extends an earlier one, so the runtime can swap it in and keep its
// global values.
class Session {
 public:
  explicit Session(CompileOptions options = {});

  struct Snippet {
    bool ok = false;
    std::string diagnostics;  // formatted, when !ok
    int32_t function = -1;    // index of the snippet's `__repl_N`, -1 if it had no statements
  };
  // On failure the session is unchanged.
  Snippet add(const std::string& text);

  const graph::Program& program() const { return program_; }
  const SourceSet& sources() const { return sources_; }

 private:
  CompileOptions options_;
  std::vector<std::string> accepted_;
  graph::Program program_;
  SourceSet sources_;
};

}  // namespace sgp::compiler
