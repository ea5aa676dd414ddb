// Nfa: a Thompson automaton over bytes built from a RegexAst (code-point classes become UTF-8
// paths).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "constraint/regex_ast.h"
#include "constraint/utf8_ranges.h"

namespace sgp::constraint {

// Bound on NFA size, so counted repeats of big groups fail cleanly instead of eating memory.
inline constexpr size_t kMaxNfaStates = 400000;

struct NfaState {
  struct Edge {
    ByteRange bytes;
    int32_t to = -1;
  };
  std::vector<Edge> edges;
  std::vector<int32_t> eps;
};

struct Nfa {
  std::vector<NfaState> states;
  int32_t start = -1;
  int32_t accept = -1;

  // Throws sgp::Error if the expansion would exceed kMaxNfaStates.
  static Nfa build(const RegexAst& ast);
};

}  // namespace sgp::constraint
