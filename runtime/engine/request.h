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
  // Generated tokens. Never the EOS / stop-id token that ended the request; after a stop
  // string, only the tokens whose text begins before it (the last one may run into it).
  std::vector<int32_t> tokens;
  std::string text;  // their text, complete UTF-8, cut just before a stop string
  FinishReason finish = FinishReason::Length;
  std::string error;  // when finish == Error
  // One per token when sampling.logprobs > 0 (from the model's unmodified distribution);
  // tokens forced by a constraint's jump-forward have logprob 0 and no alternatives.
  std::vector<TokenLogprob> logprobs;
  int prompt_tokens = 0;
  int cached_tokens = 0;  // prompt tokens served from the radix cache at admission
};

struct GenerateRequest {
  // The full token sequence; the radix cache finds the shared prefix. A follow-up that
  // extends an earlier request's prompt + output re-uses that KV without prefilling it again.
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  // Called on the engine thread with each newly complete, non-empty piece of text. Text that
  // could still be the start of a stop string is held back until it cannot.
  std::function<void(const std::string& delta)> on_text;
  // Exactly once, on the engine thread, after the engine's stats include this request.
  // Bad input (empty prompt, unknown token id, more KV than the whole pool) ends here with
  // FinishReason::Error and a message; it never throws from submit().
  std::function<void(GenerateResult)> on_done;
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
  std::vector<int32_t> prefix;  // non-empty (its last position predicts each first token)
  std::vector<std::vector<int32_t>> continuations;
  std::function<void(ScoreResult)> on_done;  // exactly once, on the engine thread
};

}  // namespace sgp::engine
