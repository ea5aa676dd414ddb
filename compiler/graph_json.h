// The execution graph as JSON (`sgrun graph --format json`, golden tests, precompiled programs).
#pragma once

#include <nlohmann/json.hpp>

#include "compiler/graph.h"

namespace sgp::graph {

nlohmann::json to_json(const Program& p);
nlohmann::json to_json(const Expr& e);

// The inverse of to_json (expression source locations are not kept). Throws sgp::Error on a
// document that is not a graph.
Program program_from_json(const nlohmann::json& j);

}  // namespace sgp::graph
