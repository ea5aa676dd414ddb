// PromptState: what the model sees — a token sequence, its text, and the chat-template context.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgp::interp {

struct PromptState {
  std::vector<int32_t> tokens;
  std::string text;
  std::string template_name;       // active chat template ("" = the program's/model's default)
  std::vector<std::string> roles;  // open role blocks, innermost last
  // Leading tokens known to sit in the engine's radix cache (after a gen or a prefill), so a
  // fork knows whether its shared prefix still needs prefilling.
  size_t cached = 0;
};

}  // namespace sgp::interp
