// SamplingParams: how one generation request picks its tokens and when it stops.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sgp::engine {

class TokenConstraint;  // runtime/constraint/token_constraint.h

struct SamplingParams {
  int max_tokens = 128;
  int min_tokens = 0;
  float temperature = 1.0f;  // 0: greedy
  float top_p = 1.0f;
  int top_k = 0;  // 0: off
  float min_p = 0.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> seed;   // same seed + same prompt => same tokens
  std::vector<std::string> stop;  // matched across token boundaries; not included in text
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  int logprobs = 0;  // top-n logprobs per generated token (0: none)
  std::shared_ptr<const TokenConstraint> constraint;  // null: unconstrained
};

}  // namespace sgp::engine
