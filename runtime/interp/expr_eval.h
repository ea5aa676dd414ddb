// Expression evaluation: the pure expression trees of the graph, builtins included.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compiler/builtins.h"
#include "compiler/graph.h"
#include "interp/prompt_state.h"
#include "interp/value.h"
#include "sgp/error.h"

namespace sgp::interp {

// An evaluation error at an expression; the executor adds the stack trace.
class EvalError : public Error {
 public:
  EvalError(graph::SourceLoc loc, const std::string& message) : Error(message), loc(loc) {}
  graph::SourceLoc loc;
};

struct EvalEnv {
  std::vector<Value>* slots = nullptr;
  std::vector<Value>* globals = nullptr;
  std::function<const Value&(int32_t)> const_value;
  const PromptState* state = nullptr;
  std::function<void(const std::string&)> print;
};

Value eval(const graph::Expr& e, EvalEnv& env);

// Builtins and operators, also used by the executor (iteration, indexing, assignment).
Value call_builtin(graph::BuiltinId id, std::vector<Value>& args, EvalEnv& env);
Value binary_op(graph::ExprOp op, const Value& a, const Value& b);
Value index_value(const Value& container, const Value& key);
// Elements a `for` loop visits: list items, a string's characters, a map's keys.
List iteration_items(const Value& v);

}  // namespace sgp::interp
