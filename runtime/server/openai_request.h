// OpenAiRequest: a /v1/chat/completions or /v1/completions body, parsed and checked.
#pragma once

#include <string>
#include <vector>

#include "server/sampling_json.h"

namespace sgp::server {

struct ChatMessage {
  std::string role;  // system, user, assistant, tool ("developer" reads as system)
  std::string content;
};

struct OpenAiRequest {
  bool chat = true;
  std::string model;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt_text;            // completions: a string prompt...
  std::vector<int32_t> prompt_ids;    // ...or token ids
  bool prompt_is_ids = false;
  engine::SamplingParams sampling;  // constraint not yet built (see `constraint`)
  ConstraintSpec constraint;
  int n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  int top_logprobs = 0;
  bool echo = false;  // completions: the prompt text starts each choice
};

// Throws ApiError 400 naming the offending field. `vocab`: the model's vocabulary size.
OpenAiRequest parse_openai_request(const Json& body, bool chat, const Limits& limits, int vocab);

// response_format → constraint: text, json_object, json_schema {schema} and the regex
// extension {type: "regex", regex}. Throws ApiError.
ConstraintSpec parse_response_format(const Json& format);

}  // namespace sgp::server
