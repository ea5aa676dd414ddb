// Requests the engine accepts (generate, score) and the results it hands back.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/sampling_params.h"

namespace sgp::engine {

using RequestId = uint64_t;

enum class FinishReason { Length, Stop, Eos, Cancelled, Error };
const char* finish_reason_name(FinishReason r);  // "length", "stop", "eos", ...

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // top-n alternatives, best first
};

struct GenerateResult {
  RequestId id = 0;
  std::vector<int32_t> tokens;  // generated tokens (after stop-string trimming)
  std::string text;             // their text
  FinishReason finish = FinishReason::Length;
  std::string error;  // when finish == Error
  std::vector<TokenLogprob> logprobs;
  int prompt_tokens = 0;
  int cached_tokens = 0;  // prompt tokens served from the radix cache
};

struct GenerateRequest {
  std::vector<int32_t> prompt;  // full token sequence; the radix cache finds the shared prefix
  SamplingParams sampling;
  // Called on the engine thread with each newly complete piece of text (may be empty-free).
  std::function<void(const std::string& delta)> on_text;
  std::function<void(GenerateResult)> on_done;  // exactly once, on the engine thread
};

// Scores each continuation given the prefix: the log-probabilities of its tokens.
// All continuations share the prefix's KV and run in one batched forward.
struct ScoreResult {
  RequestId id = 0;
  struct Choice {
    std::vector<float> token_logprobs;  // one per continuation token
    float sum = 0.0f;
  };
  std::vector<Choice> choices;
  std::string error;  // non-empty on failure
};

struct ScoreRequest {
  std::vector<int32_t> prefix;
  std::vector<std::vector<int32_t>> continuations;
  std::function<void(ScoreResult)> on_done;  // exactly once, on the engine thread
};

}  // namespace sgp::engine
