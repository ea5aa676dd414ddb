// TokenAutomaton: a byte DFA lifted to a vocabulary — the legal tokens and their targets in every
// state.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "constraint/dfa.h"
#include "constraint/token_constraint.h"
#include "constraint/vocabulary.h"

namespace sgp::constraint {

// Bound on stored (state, token) transitions when every state is computed up front, ~8 bytes each.
inline constexpr size_t kMaxAutomatonEntries = size_t{48} << 20;

// States are the DFA's states. A token is legal in a state when its bytes walk the DFA to a live
// state: one from which some token sequence reaches acceptance, so sampling never gets stuck.
//
// Liveness: when acceptance is reachable from the start using single-byte tokens alone (any
// byte-level BPE vocabulary), a state is live if single-byte tokens can finish from it. Then each
// state's token row is computed on first use (once, thread-safe) and kept, so building costs only
// the DFA. Otherwise every row is computed at construction and liveness is exact.
class TokenAutomaton final : public engine::TokenConstraint {
 public:
  // `what` names the constraint in error messages. Throws sgp::Error when no token sequence of
  // this vocabulary matches (including an empty language) or when the tables would be too large.
  TokenAutomaton(Dfa dfa, std::shared_ptr<const Vocabulary> vocab, const std::string& what);
  ~TokenAutomaton() override;

  int32_t start_state() const override { return 0; }
  void allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const override;
  int32_t next_state(int32_t state, int32_t token) const override;
  bool accepting(int32_t state) const override { return dfa_.accepting(state); }
  bool finished(int32_t state) const override { return row(state).ids.empty(); }
  std::string forced_text(int32_t state) const override { return dfa_.forced_text(state); }
  int32_t next_state_bytes(int32_t state, std::string_view bytes) const override;

  // Computes every state's row now, on up to `threads` threads (0: one per core, at most 8).
  void precompute_all(unsigned threads = 0) const;
  // Whether rows are computed on first use (see the class comment).
  bool lazy() const { return lazy_; }
  int32_t n_states() const { return dfa_.n_states(); }
  int32_t n_allowed(int32_t state) const { return static_cast<int32_t>(row(state).ids.size()); }
  const Dfa& dfa() const { return dfa_; }
  const Vocabulary& vocabulary() const { return *vocab_; }
  // Bytes held by the DFA and the rows computed so far.
  size_t memory_bytes() const;

 private:
  struct Row {
    std::vector<int32_t> ids;    // legal tokens, ascending
    std::vector<int32_t> next;   // their target states
    std::vector<uint64_t> mask;  // ready-made mask for rows with many tokens, else empty
  };
  // All tokens whose bytes stay inside the DFA from `state`, with their targets (no liveness).
  Row walk(int32_t state) const;
  void finish_row(Row& row) const;
  const Row& row(int32_t state) const;

  Dfa dfa_;
  std::shared_ptr<const Vocabulary> vocab_;
  size_t mask_words_ = 0;
  bool lazy_ = true;
  std::vector<uint8_t> live_;
  mutable std::unique_ptr<std::once_flag[]> once_;
  mutable std::vector<std::unique_ptr<const Row>> rows_;
  mutable std::atomic<size_t> row_bytes_{0};
};

}  // namespace sgp::constraint
