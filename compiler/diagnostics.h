// Diagnostics: the compiler's one error type, collected (never thrown) so every error is reported.
#pragma once

#include <string>
#include <vector>

#include "compiler/graph.h"
#include "compiler/source.h"

namespace sgp::compiler {

struct Diagnostic {
  graph::SourceLoc loc;  // file -1: no location (e.g. a file that can't be read)
  std::string message;
};

class Diagnostics {
 public:
  static constexpr size_t kMaxErrors = 100;  // then one "too many errors" and silence

  void error(graph::SourceLoc loc, std::string message);
  bool has_errors() const { return !list_.empty(); }
  size_t count() const { return list_.size(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  bool full() const { return list_.size() >= kMaxErrors; }
  void sort();  // by file, line, column (stable; "too many errors" stays last)

  // `file:line:col: error: message`, then the source line and a caret under the column.
  std::string format(const SourceSet& sources) const;
  static std::string format_one(const Diagnostic& d, const SourceSet& sources);

 private:
  std::vector<Diagnostic> list_;
};

}  // namespace sgp::compiler
