// Dfa: the minimized deterministic byte automaton of a pattern (subset construction + Hopcroft).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "constraint/regex_ast.h"

namespace sgp::constraint {

// Bound on states during subset construction; beyond it a pattern is reported as too complex.
inline constexpr int32_t kMaxDfaStates = 60000;

// Every state can still reach an accepting state (dead states are removed: a missing transition
// is -1). State 0 is the start; a DFA with no states matches nothing.
class Dfa {
 public:
  Dfa() = default;
  // Throws sgp::Error when the automaton gets too large; never throws for an empty language.
  static Dfa from_ast(const RegexAst& ast);
  // parse_regex + from_ast.
  static Dfa from_pattern(std::string_view pattern);

  int32_t n_states() const { return static_cast<int32_t>(accepting_.size()); }
  bool empty() const { return accepting_.empty(); }
  int32_t next(int32_t state, uint8_t byte) const { return trans_[state * 256 + byte]; }
  bool accepting(int32_t state) const { return accepting_[state] != 0; }
  // The state after `bytes`, or -1 if they leave the language.
  int32_t walk(int32_t state, std::string_view bytes) const;
  bool full_match(std::string_view text) const;
  // The bytes every continuation from `state` must start with, stopping at an accepting state,
  // a choice, or before an incomplete UTF-8 character.
  std::string forced_text(int32_t state) const;

 private:
  std::vector<int32_t> trans_;  // n_states * 256
  std::vector<uint8_t> accepting_;
};

}  // namespace sgp::constraint
