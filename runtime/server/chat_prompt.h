// ChatPrompt: OpenAI chat messages rendered to prompt tokens through the model's chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "interp/model_client.h"
#include "server/openai_request.h"

namespace sgp::server {

struct ChatPrompt {
  std::vector<int32_t> tokens;    // ends with the assistant turn's opening
  std::vector<std::string> stop;  // the template's end-of-turn markers
};

// Role markers are tokenized with special tokens parsed; message text never is, so a user
// cannot forge a turn boundary. The template is the built-in one whose markers the model's
// own Jinja template uses (interp/chat_templates.h), as programs get.
ChatPrompt render_chat(const std::vector<ChatMessage>& messages, const interp::ModelClient& client);

// A completion prompt: BOS when the model wants one, then the text (special tokens parsed).
std::vector<int32_t> completion_prompt(const std::string& text, const interp::ModelClient& client);

}  // namespace sgp::server
