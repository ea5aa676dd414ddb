// The builtin function table (names, arities, purity).
#include "compiler/builtins.h"

#include <array>

namespace sgp::graph {

namespace {
using B = BuiltinId;
constexpr std::array kBuiltins = {
    Builtin{B::Len, "len", 1, 1, true, "len(x): length of a str (bytes), list or map"},
    Builtin{B::Str, "str", 1, 1, true, "str(x): strings as-is, other values as JSON"},
    Builtin{B::Int, "int", 1, 1, true, "int(x): parse a str or truncate a float"},
    Builtin{B::Float, "float", 1, 1, true, "float(x)"},
    Builtin{B::Bool, "bool", 1, 1, true, "bool(x): truthiness"},
    Builtin{B::Range, "range", 1, 3, true, "range(n) / range(a, b) / range(a, b, step): int list"},
    Builtin{B::Print, "print", 0, -1, false, "print(a, ...): write to the program's output"},
    Builtin{B::JsonParse, "json_parse", 1, 1, true, "json_parse(s): value"},
    Builtin{B::JsonDump, "json_dump", 1, 2, true, "json_dump(v [, indent]): str"},
    Builtin{B::Split, "split", 1, 2, true, "split(s [, sep]): list (whitespace by default)"},
    Builtin{B::Join, "join", 2, 2, true, "join(list, sep): str"},
    Builtin{B::Strip, "strip", 1, 1, true, "strip(s): without leading/trailing whitespace"},
    Builtin{B::Lower, "lower", 1, 1, true, "lower(s)"},
    Builtin{B::Upper, "upper", 1, 1, true, "upper(s)"},
    Builtin{B::Replace, "replace", 3, 3, true, "replace(s, old, new)"},
    Builtin{B::StartsWith, "startswith", 2, 2, true, "startswith(s, prefix)"},
    Builtin{B::EndsWith, "endswith", 2, 2, true, "endswith(s, suffix)"},
    Builtin{B::Contains, "contains", 2, 2, true, "contains(str|list|map, x)"},
    Builtin{B::Find, "find", 2, 2, true, "find(s, sub) / find(list, x): index or -1"},
    Builtin{B::RegexMatch, "regex_match", 2, 2, true, "regex_match(pattern, s): whole-match bool"},
    Builtin{B::RegexFindall, "regex_findall", 2, 2, true, "regex_findall(pattern, s): list"},
    Builtin{B::Min, "min", 1, -1, true, "min(list) / min(a, b, ...)"},
    Builtin{B::Max, "max", 1, -1, true, "max(list) / max(a, b, ...)"},
    Builtin{B::Sum, "sum", 1, 1, true, "sum(list)"},
    Builtin{B::Sorted, "sorted", 1, 1, true, "sorted(list)"},
    Builtin{B::Keys, "keys", 1, 1, true, "keys(map): list"},
    Builtin{B::Values, "values", 1, 1, true, "values(map): list"},
    Builtin{B::Items, "items", 1, 1, true, "items(map): list of [key, value]"},
    Builtin{B::Enumerate, "enumerate", 1, 1, true, "enumerate(list): list of [index, value]"},
    Builtin{B::Get, "get", 2, 3, true, "get(map|list, key [, default])"},
    Builtin{B::Slice, "slice", 2, 3, true, "slice(list|str, start [, end])"},
    Builtin{B::Append, "append", 2, 2, true, "append(list, x): a new list with x at the end"},
    Builtin{B::Abs, "abs", 1, 1, true, "abs(x)"},
    Builtin{B::Round, "round", 1, 2, true, "round(x [, digits])"},
    Builtin{B::Type, "type", 1, 1, true, "type(x): \"str\", \"int\", ..."},
    Builtin{B::Text, "text", 0, 0, false, "text(): the current state's text"},
    Builtin{B::LenTokens, "len_tokens", 0, 0, false, "len_tokens(): the current state's length"},
};
}  // namespace

std::span<const Builtin> builtins() {
  return kBuiltins;
}

const Builtin* find_builtin(std::string_view name) {
  for (const Builtin& b : kBuiltins)
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace sgp::graph
