// Name resolution and the semantic checks of LANGUAGE.md §7; annotates the AST for lowering.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/module_loader.h"

namespace sgp::compiler {

struct CheckOptions {
  bool require_main = false;          // `sgrun run`: a missing `main` is an error
  bool allow_top_statements = false;  // REPL snippets (wrapped as FnDecl::repl functions)
};

struct DeclRef {
  int32_t module = -1;
  int32_t decl = -1;  // index into that module's fns / consts / templates
  std::string name;   // name in the graph ("f" in the root, "alias.f" elsewhere)
};

// The program-wide symbol tables the checker builds; lowering numbers everything the same way.
struct Symbols {
  std::vector<DeclRef> functions;  // graph::Program::functions order
  std::vector<DeclRef> consts;     // graph::Program::consts order
  std::vector<DeclRef> templates;
  std::vector<std::string> globals;  // REPL session variables
  std::string template_name;         // the root's `use template`, "" if none
  int32_t entry = -1;                // index of `main` in functions
  // Per module: bare name -> index, for functions and consts; import alias -> module.
  struct Scope {
    std::map<std::string, int32_t> fns, consts, aliases;
  };
  std::vector<Scope> scopes;
};

// Reports every error it finds; returns false if there were any.
bool check_program(ModuleSet& modules, const CheckOptions& options, Diagnostics& diags,
                   Symbols& out);

// The option names gen/select accept (for docs and tools).
const std::vector<std::string>& gen_option_names();

}  // namespace sgp::compiler
