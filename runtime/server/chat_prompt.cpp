// Chat messages → prompt tokens.
#include "server/chat_prompt.h"

#include "interp/chat_templates.h"
#include "server/api_error.h"

namespace sgp::server {

namespace {

void append(std::vector<int32_t>& out, const interp::ModelClient& client, const std::string& text,
            bool special) {
  if (text.empty()) return;
  auto ids = client.tokenize(text, special);
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace

ChatPrompt render_chat(const std::vector<ChatMessage>& messages,
                       const interp::ModelClient& client) {
  const graph::Template& t = interp::template_for_model(client.chat_template());
  ChatPrompt p;
  if (client.add_bos() && client.bos_id() >= 0) p.tokens.push_back(client.bos_id());
  append(p.tokens, client, t.bos, true);
  for (const ChatMessage& m : messages) {
    auto it = t.roles.find(m.role);
    if (it == t.roles.end())
      throw bad_param("messages",
                      "the chat template '" + t.name + "' has no role '" + m.role + "'");
    append(p.tokens, client, it->second.prefix, true);
    append(p.tokens, client, m.content, false);
    append(p.tokens, client, it->second.suffix, true);
  }
  auto asst = t.roles.find("assistant");
  if (asst == t.roles.end())
    throw ApiError(500, "the chat template '" + t.name + "' has no assistant role", "server_error");
  append(p.tokens, client, asst->second.prefix, true);
  append(p.tokens, client, t.generation_prefix, true);
  p.stop = t.stop;
  return p;
}

std::vector<int32_t> completion_prompt(const std::string& text, const interp::ModelClient& client) {
  std::vector<int32_t> ids;
  if (client.add_bos() && client.bos_id() >= 0) ids.push_back(client.bos_id());
  append(ids, client, text, true);
  if (ids.empty()) throw bad_param("prompt", "the prompt is empty");
  return ids;
}

}  // namespace sgp::server
