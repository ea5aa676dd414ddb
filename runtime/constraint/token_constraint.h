// TokenConstraint: a token-level automaton that restricts which tokens a request may sample.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgp::engine {

// States are small integers; the engine keeps one per constrained sequence. Implementations
// are immutable after construction and shared between requests and threads.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual int32_t start_state() const = 0;
  // Sets bit t of `mask` (n_vocab bits, 64 per word) for every token legal in `state`.
  // End-of-sequence tokens are never set here: the engine allows them when accepting().
  virtual void allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const = 0;
  // The state after `token`, or -1 if the token is illegal there.
  virtual int32_t next_state(int32_t state, int32_t token) const = 0;
  // Whether the output may end here (the engine then also allows EOS).
  virtual bool accepting(int32_t state) const = 0;
  // Whether no token can follow (the engine must stop here).
  virtual bool finished(int32_t state) const = 0;
  // Jump-forward: the text that every legal continuation from `state` must start with
  // (empty if there is a choice right away).
  virtual std::string forced_text(int32_t state) const { (void)state; return {}; }
};

}  // namespace sgp::engine
