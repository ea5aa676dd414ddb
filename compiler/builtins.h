// The builtin function table shared by the compiler (arity checks) and the runtime (dispatch).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sgp::graph {

// Builtin ids are indexes into builtins(); ExprOp::Builtin carries the id and the name.
enum class BuiltinId : int32_t {
  Len,
  Str,
  Int,
  Float,
  Bool,
  Range,
  Print,
  JsonParse,
  JsonDump,
  Split,
  Join,
  Strip,
  Lower,
  Upper,
  Replace,
  StartsWith,
  EndsWith,
  Contains,
  Find,
  RegexMatch,
  RegexFindall,
  Min,
  Max,
  Sum,
  Sorted,
  Keys,
  Values,
  Items,
  Enumerate,
  Get,
  Slice,
  Append,
  Abs,
  Round,
  Type,
  Text,
  LenTokens,
};

struct Builtin {
  BuiltinId id;
  std::string_view name;
  int min_args;
  int max_args;  // -1: any number
  bool pure;     // false: prints or reads the state; never hoisted into a shared prefix
  std::string_view doc;
};

std::span<const Builtin> builtins();
const Builtin* find_builtin(std::string_view name);  // nullptr if not a builtin

}  // namespace sgp::graph
