// Sampler: one request's token choice from a logits row — penalties, masks, temperature,
// top-k/top-p/min-p, its own seeded RNG, and top-n logprobs.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/request.h"
#include "engine/sampling_params.h"
#include "model/forward_batch.h"

namespace sgp::engine {

// Restrictions on the next token, worked out by the engine from the constraint and stop rules.
struct TokenMask {
  const std::vector<uint64_t>* allowed = nullptr;  // bit per token; null: every token
  std::span<const int32_t> also_allowed;           // allowed even when not in `allowed` (EOS)
  std::span<const int32_t> banned;                 // never (EOS before min_tokens)
};

// Each request owns one, so its draws do not depend on which other requests share the batch.
class Sampler {
 public:
  Sampler(const SamplingParams& params, uint64_t seed, std::span<const int32_t> prompt);

  // The next token. Fills `logprob` (when non-null) from the model's unmodified distribution.
  // Returns -1 when the mask leaves no token.
  int32_t sample(std::span<const float> logits, const TokenMask& mask, TokenLogprob* logprob);
  // Records a token that became part of the output (for the penalties).
  void accept(int32_t token);

  // Whether a backend may draw this request's tokens (model::RowSample): no penalties, top-k,
  // top-p or logprobs. The engine also checks that no mask applies this step.
  bool device_eligible() const;
  // The draw for the device, consuming the RNG exactly as sample() would for the same step.
  model::RowSample device_draw();

 private:
  void apply_penalties(std::vector<float>& x) const;
  double uniform();

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::unordered_set<int32_t> prompt_tokens_;
  std::unordered_map<int32_t, int> output_counts_;
  bool track_output_ = false;  // a penalty needs output_counts_
  std::vector<float> work_;
};

// The rule of model::RowSample on the host: what a backend's device sampler must reproduce
// (the same token as Sampler::sample for the same draw). -1 for an empty row.
int32_t sample_row(std::span<const float> logits, const model::RowSample& draw);

// log-softmax of one logits row, computed in double for stability.
void log_softmax(std::span<const float> logits, std::vector<float>& out);

}  // namespace sgp::engine
