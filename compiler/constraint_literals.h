// ConstraintLiterals: compile-time checks of literal `regex:` / `json:` / `choices:` gen options.
#pragma once

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace sgp::compiler {

// Compiles a literal constraint the way the runtime will and reports what would fail there: a
// malformed pattern at its character when the literal is a one-line raw string, a schema problem
// at the offending part of the map literal. Computed (non-literal) values are left to run time.
void check_constraint_literal(const ast::Option& option, Diagnostics& diags);

}  // namespace sgp::compiler
