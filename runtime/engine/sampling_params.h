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

// What a constraint was built from. The interpreter always sets it; a client without the model's
// tokenizer (a remote server) sends it instead of the built automaton, which it cannot build.
struct ConstraintSpec {
  enum class Kind { None, Regex, Json, Choices };
  Kind kind = Kind::None;
  std::string text;                  // the regex, or the JSON Schema as JSON text
  std::vector<std::string> choices;  // Kind::Choices
};

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
  ConstraintSpec constraint_spec;  // the source of `constraint` (may be set while it is null)
};

}  // namespace sgp::engine
