// The OpenAI-compatible endpoints: /v1/chat/completions, /v1/completions, /v1/models.
#pragma once

#include "server/router.h"

namespace sgp::server {

void add_openai_routes(Router& router);

// Rejects a request naming a model this server does not serve (404 model_not_found); "" is fine.
void check_model(const ServerState& server, const std::string& model);
// Rejects a prompt + max_tokens beyond the model's training context (400).
void check_context(const ServerState& server, size_t prompt_tokens, int max_tokens);

}  // namespace sgp::server
