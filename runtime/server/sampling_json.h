// Sampling options and output constraints read from a request body (OpenAI and native APIs).
#pragma once

#include <memory>
#include <string>

#include "constraint/vocabulary.h"
#include "engine/sampling_params.h"
#include "server/json_fields.h"
#include "server/server_options.h"

namespace sgp::server {

// The output constraint a request asks for (at most one).
struct ConstraintSpec {
  enum class Kind { None, Regex, JsonSchema, Choices } kind = Kind::None;
  std::string regex;                 // Regex
  nlohmann::ordered_json schema;     // JsonSchema
  std::vector<std::string> choices;  // Choices
};

// Reads max_tokens (default limits.default_max_tokens, at most limits.max_tokens), min_tokens,
// temperature, top_p, top_k, min_p, the three penalties, seed, stop, stop_token_ids and
// ignore_eos. `max_tokens_key` lets OpenAI's max_completion_tokens stand in. Throws ApiError.
engine::SamplingParams parse_sampling(const Json& obj, const Limits& limits, int vocab);

// The regex a json_object response format is held to: one JSON object, values nested at most
// three levels deep (the schema subset has no free-form objects).
const std::string& json_object_regex();

// Builds the token automaton for `spec` (null for None). Bad patterns and schemas throw
// ApiError 400 with the constraint compiler's message.
std::shared_ptr<const engine::TokenConstraint> build_constraint(
    const ConstraintSpec& spec, const std::shared_ptr<const constraint::Vocabulary>& vocab);

}  // namespace sgp::server
