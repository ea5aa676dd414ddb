// Lowering: checked AST + symbols → the execution graph (compiler/graph.h).
#pragma once

#include "compiler/checker.h"
#include "compiler/graph.h"

namespace sgp::compiler {

// Requires a program that passed check_program (it trusts the annotations).
graph::Program lower_program(ModuleSet& modules, const Symbols& symbols, const SourceSet& sources);

}  // namespace sgp::compiler
