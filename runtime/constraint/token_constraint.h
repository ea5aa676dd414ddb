// TokenConstraint: a token-level automaton that restricts which tokens a request may sample.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::engine {

// States are small integers; the engine keeps one per constrained sequence. Implementations
// are immutable after construction and shared between requests and threads.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual int32_t start_state() const = 0;
  // Clears `mask` (growing it to n_vocab bits, 64 per word, if it is shorter; a longer mask,
  // e.g. sized for a padded model vocabulary, keeps its size) and sets bit t for every token
  // legal in `state`. End-of-sequence tokens are never set here: the engine allows them when
  // accepting().
  virtual void allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const = 0;
  // The state after `token`, or -1 if the token is illegal there.
  virtual int32_t next_state(int32_t state, int32_t token) const = 0;
  // Whether the output may end here (the engine then also allows EOS).
  virtual bool accepting(int32_t state) const = 0;
  // Whether no token can follow (the engine must stop here).
  virtual bool finished(int32_t state) const = 0;
  // Jump-forward: the text that every legal continuation from `state` must start with
  // (empty if there is a choice right away). It never ends inside a UTF-8 character.
  virtual std::string forced_text(int32_t state) const {
    (void)state;
    return {};
  }
  // The state after appending raw `bytes` (however they end up tokenized), or -1 if they are
  // illegal or lead where no token sequence can finish. Jump-forward uses it after re-tokenizing
  // the boundary: the state depends only on the text, not on how it was split into tokens.
  virtual int32_t next_state_bytes(int32_t state, std::string_view bytes) const {
    (void)state, (void)bytes;
    return -1;
  }
};

}  // namespace sgp::engine
