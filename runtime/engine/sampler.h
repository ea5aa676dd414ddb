// Sampler: one request's token choice from a logits row — penalties, masks, temperature,
// top-k/top-p/min-p, its own seeded RNG, and top-n logprobs.
#pragma once

#include <cstdint>
#include <random>
#include <span>
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
// The choice itself is sample_row's rule (model::RowSample), so a backend that draws on the
// device from device_draw() picks the token sample() would.
class Sampler {
 public:
  Sampler(const SamplingParams& params, uint64_t seed, std::span<const int32_t> prompt);

  // The next token. Fills `logprob` (when non-null) from the model's unmodified distribution.
  // Returns -1 when the mask leaves no token.
  int32_t sample(std::span<const float> logits, const TokenMask& mask, TokenLogprob* logprob);
  // Records a token that became part of the output (for the penalties).
  void accept(int32_t token);

  // Everything of this step's draw but the mask (which the engine adds): parameters, penalty
  // history and the uniform, consuming the RNG exactly as sample() does (one uniform per
  // sampled token when temperature > 0, none when greedy).
  model::RowSample device_draw();
  // Whether the draw depends on the tokens output so far (a penalty is set).
  bool uses_history() const { return track_output_; }

 private:
  double uniform();

  SamplingParams params_;
  std::mt19937_64 rng_;
  // Prompt tokens (with a repetition penalty) and output tokens with their counts, sorted.
  std::vector<model::TokenCount> history_;
  bool track_output_ = false;  // a penalty needs history_
  std::vector<float> work_;
};

// The rule of model::RowSample on the host — what a backend's device sampler reproduces, and
// what Sampler::sample runs. -1 when no token is left. `logprob` (when non-null and the row asks
// for logprobs) gets the chosen token's log-probability and the top draw.logprobs of the raw
// row. `work` is scratch (a row-sized buffer reused across calls).
int32_t sample_row(std::span<const float> logits, const model::RowSample& draw,
                   TokenLogprob* logprob = nullptr, std::vector<float>* work = nullptr);

// log-softmax of one logits row, computed in double for stability.
void log_softmax(std::span<const float> logits, std::vector<float>& out);

}  // namespace sgp::engine
