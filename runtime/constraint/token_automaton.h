// TokenAutomaton: a byte DFA lifted to a vocabulary — the legal tokens and their targets in every
// state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "constraint/dfa.h"
#include "constraint/token_constraint.h"
#include "constraint/vocabulary.h"

namespace sgp::constraint {

// Bound on stored (state, token) transitions, about 8 bytes each.
inline constexpr size_t kMaxAutomatonEntries = size_t{48} << 20;

// States are the DFA's states. A token is legal in a state when its bytes walk the DFA to a
// state from which some token sequence reaches acceptance, so sampling can never get stuck.
class TokenAutomaton final : public engine::TokenConstraint {
 public:
  // `what` names the constraint in error messages. Throws sgp::Error when no token sequence of
  // this vocabulary matches (including an empty language) or when the tables would be too large.
  TokenAutomaton(Dfa dfa, std::shared_ptr<const Vocabulary> vocab, const std::string& what);

  int32_t start_state() const override { return 0; }
  void allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const override;
  int32_t next_state(int32_t state, int32_t token) const override;
  bool accepting(int32_t state) const override { return dfa_.accepting(state); }
  bool finished(int32_t state) const override { return rows_[state].count == 0; }
  std::string forced_text(int32_t state) const override { return dfa_.forced_text(state); }
  int32_t next_state_bytes(int32_t state, std::string_view bytes) const override;

  int32_t n_states() const { return dfa_.n_states(); }
  int32_t n_allowed(int32_t state) const { return rows_[state].count; }
  const Dfa& dfa() const { return dfa_; }
  const Vocabulary& vocabulary() const { return *vocab_; }
  size_t memory_bytes() const;

 private:
  struct Row {
    int64_t offset = 0;  // into ids_/next_
    int32_t count = 0;
    int32_t mask = -1;  // index of a precomputed dense mask, for rows with many tokens
  };
  Dfa dfa_;
  std::shared_ptr<const Vocabulary> vocab_;
  size_t mask_words_ = 0;
  std::vector<Row> rows_;
  std::vector<int32_t> ids_;   // per row, sorted
  std::vector<int32_t> next_;  // parallel to ids_
  std::vector<uint64_t> masks_;
  std::vector<uint8_t> can_finish_;  // some token sequence reaches acceptance from here
};

}  // namespace sgp::constraint
