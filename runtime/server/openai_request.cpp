// Parsing and validation of OpenAI-style request bodies.
#include "server/openai_request.h"

#include "server/api_error.h"

namespace sgp::server {

namespace {

constexpr size_t kMaxMessages = 4096;

std::string message_content(const Json& content, size_t i) {
  const std::string where = "messages[" + std::to_string(i) + "].content";
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_param(where, where + " must be a string or a list of parts");
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" ||
        !part.contains("text") || !part["text"].is_string())
      throw bad_param(where,
                      where + ": only {\"type\": \"text\", \"text\": ...} parts are supported");
    text += part["text"].get<std::string>();
  }
  return text;
}

std::vector<ChatMessage> parse_messages(const Json& body) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty())
    throw bad_param("messages", "'messages' must be a non-empty list");
  if (it->size() > kMaxMessages) throw bad_param("messages", "too many messages");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    if (!m.is_object()) throw bad_param("messages", "each message must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      throw bad_param("messages", "messages[" + std::to_string(i) + "].role must be a string");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r != "system" && r != "user" && r != "assistant" && r != "tool")
      throw bad_param("messages", "messages[" + std::to_string(i) + "].role '" + r +
                                      "' is not system, user, assistant or tool");
    out.push_back({r, message_content(m.contains("content") ? m["content"] : Json(), i)});
  }
  return out;
}

}  // namespace

ConstraintSpec parse_response_format(const Json& format) {
  ConstraintSpec spec;
  if (format.is_null()) return spec;
  if (!format.is_object() || !format.contains("type") || !format["type"].is_string())
    throw bad_param("response_format", "'response_format' must be an object with a 'type'");
  std::string type = format["type"].get<std::string>();
  if (type == "text") return spec;
  if (type == "json_object") {
    spec.kind = ConstraintSpec::Kind::Regex;
    spec.regex = json_object_regex();
  } else if (type == "json_schema") {
    auto js = format.find("json_schema");
    if (js == format.end() || !js->is_object() || !js->contains("schema") ||
        !(*js)["schema"].is_object())
      throw bad_param("response_format",
                      "response_format.json_schema must be an object with a 'schema' object");
    spec.kind = ConstraintSpec::Kind::JsonSchema;
    spec.schema = (*js)["schema"];
  } else if (type == "regex") {
    auto re = format.find("regex");
    if (re == format.end() || !re->is_string())
      throw bad_param("response_format", "response_format.regex must be a string");
    spec.kind = ConstraintSpec::Kind::Regex;
    spec.regex = re->get<std::string>();
  } else {
    throw bad_param("response_format", "response_format.type '" + type +
                                           "' is not text, json_object, json_schema or regex");
  }
  return spec;
}

OpenAiRequest parse_openai_request(const Json& body, bool chat, const Limits& limits, int vocab) {
  OpenAiRequest r;
  r.chat = chat;
  r.model = get_string(body, "model").value_or("");
  if (chat) {
    r.messages = parse_messages(body);
  } else {
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) throw bad_param("prompt", "'prompt' is required");
    const Json* p = &*it;
    if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array()))
      p = &(*p)[0];  // a batch of one
    if (p->is_string()) {
      r.prompt_text = p->get<std::string>();
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
      Json wrap = {{"prompt", *p}};
      r.prompt_ids = *get_token_ids(wrap, "prompt", vocab);
      r.prompt_is_ids = true;
    } else {
      throw bad_param("prompt",
                      "'prompt' must be a string or a list of token ids (one prompt per request)");
    }
    r.echo = get_bool(body, "echo").value_or(false);
  }
  r.sampling = parse_sampling(body, limits, vocab);
  r.n = static_cast<int>(get_int(body, "n", 1, limits.max_n).value_or(1));
  r.stream = get_bool(body, "stream").value_or(false);
  if (auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) throw bad_param("stream_options", "'stream_options' must be an object");
    r.include_usage = get_bool(*so, "include_usage").value_or(false);
  }
  if (chat) {
    r.logprobs = get_bool(body, "logprobs").value_or(false);
    r.top_logprobs = static_cast<int>(get_int(body, "top_logprobs", 0, 20).value_or(0));
    if (r.top_logprobs > 0 && !r.logprobs)
      throw bad_param("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  } else if (auto lp = get_int(body, "logprobs", 0, 20)) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*lp);
  }
  // The engine records logprobs only with at least one alternative per token.
  if (r.logprobs) r.sampling.logprobs = std::max(1, r.top_logprobs);
  if (auto rf = body.find("response_format"); rf != body.end())
    r.constraint = parse_response_format(*rf);
  if (auto re = get_string(body, "regex")) {  // vLLM-style top-level extension
    if (r.constraint.kind != ConstraintSpec::Kind::None)
      throw bad_param("regex", "give either 'regex' or 'response_format', not both");
    r.constraint.kind = ConstraintSpec::Kind::Regex;
    r.constraint.regex = *re;
  }
  return r;
}

}  // namespace sgp::server
