// Parse tree → AST: the one place that knows the generated ANTLR context classes.
#pragma once

#include <Sgp.h>

#include <memory>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace sgp::compiler {

// Builds the module; literal errors (bad escapes, integer overflow) go to `diags`.
// Returns null when any were reported.
std::unique_ptr<ast::Module> build_ast(antlr::Sgp::ProgramContext* tree, int32_t file,
                                       Diagnostics& diags);

}  // namespace sgp::compiler
