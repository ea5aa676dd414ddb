// Sequence: the engine's state for one token stream — a generate request, a score request's
// shared prefix, or one of its continuations — with its KV and progress.
#include "engine/sequence.h"

#include "constraint/token_constraint.h"

namespace sgp::engine {

GenerateState::GenerateState(GenerateRequest req, uint64_t seed, const model::Tokenizer& tok)
    : request(std::move(req)),
      sampler(request.sampling, seed, request.prompt),
      stops(request.sampling.stop),
      decoder(tok) {
  if (request.sampling.constraint) constraint_state = request.sampling.constraint->start_state();
}

}  // namespace sgp::engine
