// The execution graph as Graphviz DOT (`sgrun graph --format dot`).
#pragma once

#include <string>

#include "compiler/graph.h"

namespace sgp::graph {

std::string to_dot(const Program& p);

// A short source-like rendering of an expression (labels, debugging).
std::string expr_to_string(const Expr& e, const Function* fn = nullptr, size_t max_len = 60);

}  // namespace sgp::graph
