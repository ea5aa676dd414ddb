// OpenAiModelClient: /v1/completions requests, their streams, and select through echoed logprobs.
#include "remote/openai_model_client.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "constraint/constraint_factory.h"
#include "remote/json_wire.h"
#include "sgp/error.h"

namespace sgp::remote {

namespace {

std::string bytes_text(const std::vector<int32_t>& ids) {
  std::string s;
  s.reserve(ids.size());
  for (int32_t t : ids) {
    if (t < 0 || t > 255) throw Error("token id " + std::to_string(t) + " is not a byte");
    s.push_back(static_cast<char>(t));
  }
  return s;
}

std::vector<int32_t> text_bytes(std::string_view s) {
  std::vector<int32_t> ids(s.size());
  for (size_t i = 0; i < s.size(); ++i) ids[i] = static_cast<unsigned char>(s[i]);
  return ids;
}

Json completion_body(const std::string& model, const std::string& prompt,
                     const engine::SamplingParams& sp, bool stream) {
  Json j = {{"model", model},
            {"prompt", prompt},
            {"max_tokens", sp.max_tokens},
            {"temperature", sp.temperature},
            {"top_p", sp.top_p},
            {"stream", stream}};
  if (!sp.stop.empty()) j["stop"] = sp.stop;
  if (sp.seed) j["seed"] = *sp.seed;
  if (sp.frequency_penalty != 0) j["frequency_penalty"] = sp.frequency_penalty;
  if (sp.presence_penalty != 0) j["presence_penalty"] = sp.presence_penalty;
  if (sp.logprobs > 0) j["logprobs"] = sp.logprobs;
  // Extensions (sgrun, vLLM): sent only when used, since strict servers refuse unknown fields.
  if (sp.top_k > 0) j["top_k"] = sp.top_k;
  if (sp.min_p > 0) j["min_p"] = sp.min_p;
  if (sp.repetition_penalty != 1.0f) j["repetition_penalty"] = sp.repetition_penalty;
  if (sp.min_tokens > 0) j["min_tokens"] = sp.min_tokens;
  if (sp.ignore_eos) j["ignore_eos"] = true;
  if (!sp.stop_token_ids.empty()) j["stop_token_ids"] = sp.stop_token_ids;
  const engine::ConstraintSpec& c = sp.constraint_spec;
  using K = engine::ConstraintSpec::Kind;
  if (c.kind == K::Json) {
    auto schema = Json::parse(c.text, nullptr, false);
    if (schema.is_discarded()) throw Error("json: option is not valid JSON");
    j["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "sgp"}, {"schema", schema}, {"strict", true}}}};
  } else if (c.kind == K::Regex || c.kind == K::Choices) {
    std::string re = c.kind == K::Regex ? c.text : constraint::choices_to_regex(c.choices);
    j["response_format"] = {{"type", "regex"}, {"regex", re}};
  } else if (sp.constraint) {
    throw Error("a constraint built without its source cannot be sent to a remote server");
  }
  return j;
}

engine::FinishReason finish_from(const Json& v) {
  if (!v.is_string()) return engine::FinishReason::Length;
  std::string s = v.get<std::string>();
  if (s == "length") return engine::FinishReason::Length;
  return engine::FinishReason::Stop;  // "stop": a stop string or the end of text, not told apart
}

}  // namespace

OpenAiModelClient::OpenAiModelClient(Endpoint endpoint, HttpOptions options, std::string model)
    : http_(std::make_unique<HttpClient>(std::move(endpoint), std::move(options))),
      model_(std::move(model)) {
  HttpResult r = http_->call(HttpMethod::Get, "/models", "");
  if (std::string f = failure_text(r, where("models")); !f.empty()) throw Error(f);
  if (!model_.empty()) return;
  auto j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("data") && j["data"].is_array() && !j["data"].empty() &&
      j["data"][0].is_object() && j["data"][0].contains("id") && j["data"][0]["id"].is_string())
    model_ = j["data"][0]["id"].get<std::string>();
  else
    throw Error(where("models") + ": no model listed; name one with --remote-model");
}

std::string OpenAiModelClient::where(const char* what) const {
  return std::string(what) + " at " + http_->endpoint().url();
}

std::string OpenAiModelClient::name() const {
  return model_ + " @ openai:" + http_->endpoint().url();
}

std::vector<int32_t> OpenAiModelClient::tokenize(std::string_view text, bool) const {
  return text_bytes(text);
}

std::string OpenAiModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  return bytes_text(tokens);
}

engine::RequestId OpenAiModelClient::generate(engine::GenerateRequest request) {
  struct Call {
    engine::GenerateRequest req;
    std::unique_ptr<JsonEventStream> sse;
    std::string text;
    Json finish;
    bool got_any = false;
  };
  auto call = std::make_shared<Call>();
  const bool stream = static_cast<bool>(request.on_text);
  std::string body;
  try {
    body = body_text(completion_body(model_, bytes_text(request.prompt), request.sampling, stream));
  } catch (const Error& e) {
    return http_->defer([done = std::move(request.on_done), msg = std::string(e.what())] {
      done(failed_result(msg));
    });
  }
  call->req = std::move(request);
  std::function<void(std::string_view)> on_chunk;
  if (stream) {
    Call* c = call.get();
    call->sse = std::make_unique<JsonEventStream>([c](Json& j) {
      if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
      const Json& ch = j["choices"][0];
      c->got_any = true;
      if (ch.contains("text") && ch["text"].is_string()) {
        std::string d = ch["text"].get<std::string>();
        c->text += d;
        if (!d.empty()) c->req.on_text(d);
      }
      if (ch.contains("finish_reason") && !ch["finish_reason"].is_null())
        c->finish = ch["finish_reason"];
    });
    on_chunk = [c](std::string_view bytes) { c->sse->feed(bytes); };
  }
  std::string what = where("completions");
  return http_->start(
      HttpMethod::Post, "/completions", std::move(body), std::move(on_chunk),
      [call, what](HttpResult r) {
        engine::GenerateResult res;
        if (auto failure = exchange_failure(r, what, call->sse.get())) {
          res = std::move(*failure);
        } else if (call->sse) {
          if (!call->got_any) {
            res = failed_result(what + ": the stream held no completion");
          } else {
            res.text = call->text;
            res.finish = finish_from(call->finish);
          }
        } else {
          auto j = Json::parse(r.body, nullptr, false);
          if (j.is_object() && j.contains("choices") && j["choices"].is_array() &&
              !j["choices"].empty() && j["choices"][0].is_object() &&
              j["choices"][0].contains("text") && j["choices"][0]["text"].is_string()) {
            res.text = j["choices"][0]["text"].get<std::string>();
            res.finish = finish_from(j["choices"][0].value("finish_reason", Json()));
            if (j.contains("usage") && j["usage"].is_object())
              res.prompt_tokens = j["usage"].value("prompt_tokens", 0);
          } else {
            res = failed_result(what + ": bad answer (no choices[0].text)");
          }
        }
        if (res.finish != engine::FinishReason::Error) res.tokens = text_bytes(res.text);
        call->req.on_done(std::move(res));
      });
}

namespace {

// One choice's score from an echoed completion: the log-probabilities of the tokens that cover
// the choice's bytes [begin, end) of the prompt, each spread evenly over its bytes there.
engine::ScoreResult::Choice choice_score(const Json& answer, size_t begin, size_t end,
                                         const std::string& what, const std::string& url) {
  const Json* lp = nullptr;
  if (answer.is_object() && answer.contains("choices") && answer["choices"].is_array() &&
      !answer["choices"].empty() && answer["choices"][0].is_object() &&
      answer["choices"][0].contains("logprobs"))
    lp = &answer["choices"][0]["logprobs"];
  const std::string missing =
      "select through an OpenAI-compatible server needs the prompt's log-probabilities (`echo` "
      "with `logprobs` on /v1/completions), which " +
      url + " does not return; use the native backend (--backend http://...) or avoid select";
  if (!lp || !lp->is_object() || !lp->contains("token_logprobs") || !lp->contains("text_offset") ||
      !lp->contains("tokens"))
    throw Error(missing);
  const Json& toks = (*lp)["tokens"];
  const Json& lps = (*lp)["token_logprobs"];
  const Json& offs = (*lp)["text_offset"];
  engine::ScoreResult::Choice c;
  c.token_logprobs.assign(end - begin, 0.0f);
  size_t covered = 0;
  for (size_t t = 0; t < toks.size() && t < lps.size() && t < offs.size(); ++t) {
    size_t off = offs[t].get<size_t>();
    size_t len = toks[t].is_string() ? toks[t].get<std::string>().size() : 0;
    size_t a = std::max(off, begin), b = std::min(off + len, end);
    if (b <= a) continue;
    if (lps[t].is_null()) throw Error(what + ": no log-probability for the choice's first token");
    float v = lps[t].get<float>();
    c.sum += v;
    covered += b - a;
    for (size_t k = a; k < b; ++k) c.token_logprobs[k - begin] = v / static_cast<float>(b - a);
  }
  // Log-probabilities of the generated text only (no echo of the prompt's) cover nothing here.
  if (covered < end - begin) throw Error(missing);
  return c;
}

}  // namespace

engine::RequestId OpenAiModelClient::score(engine::ScoreRequest request) {
  auto done = std::move(request.on_done);
  std::string prefix;
  std::vector<std::string> conts;
  try {
    prefix = bytes_text(request.prefix);
    for (const auto& c : request.continuations) conts.push_back(bytes_text(c));
  } catch (const Error& e) {
    return http_->defer([done, msg = std::string(e.what())] {
      engine::ScoreResult r;
      r.error = msg;
      done(std::move(r));
    });
  }
  // One request per choice (many servers take one prompt per request). echo + logprobs returns
  // the prompt's own token log-probabilities; max_tokens 1, since some servers refuse 0, and the
  // generated token lies past the prompt.
  struct Gather {
    std::mutex mu;
    size_t left = 0;
    HttpClient::Id first = 0;
    engine::ScoreResult result;
  };
  auto g = std::make_shared<Gather>();
  g->left = conts.size();
  g->result.choices.resize(conts.size());
  std::string what = where("completions (select)");
  std::string url = http_->endpoint().url();
  std::vector<HttpClient::Id> ids;
  // Held while the requests start, so no callback can finish the group before it is recorded.
  std::unique_lock<std::mutex> groups_lock(mu_);
  for (size_t i = 0; i < conts.size(); ++i) {
    Json body = {{"model", model_}, {"prompt", prefix + conts[i]},
                 {"max_tokens", 1}, {"temperature", 0},
                 {"echo", true},    {"logprobs", 1}};
    size_t begin = prefix.size(), end = prefix.size() + conts[i].size();
    ids.push_back(
        http_->start(HttpMethod::Post, "/completions", body_text(body), nullptr,
                     [this, g, i, done, what, url, begin, end](HttpResult r) {
                       engine::ScoreResult one = checked_score(what, [&](engine::ScoreResult& res) {
                         if (std::string f = failure_text(r, what); !f.empty()) throw Error(f);
                         auto j = Json::parse(r.body, nullptr, false);
                         res.choices.push_back(choice_score(j, begin, end, what, url));
                       });
                       std::unique_lock<std::mutex> lock(g->mu);
                       if (!one.error.empty()) {
                         if (g->result.error.empty()) g->result.error = one.error;
                       } else {
                         g->result.choices[i] = std::move(one.choices[0]);
                       }
                       if (--g->left > 0) return;
                       if (!g->result.error.empty()) g->result.choices.clear();
                       engine::ScoreResult out = std::move(g->result);
                       lock.unlock();
                       {
                         std::lock_guard<std::mutex> groups_done(mu_);
                         groups_.erase(g->first);
                       }
                       done(std::move(out));
                     }));
    if (i == 0) g->first = ids.front();
  }
  groups_[ids.front()] = ids;
  return ids.front();
}

void OpenAiModelClient::cancel(engine::RequestId id) {
  std::vector<HttpClient::Id> ids{id};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = groups_.find(id);
    if (it != groups_.end()) ids = it->second;
  }
  for (auto i : ids) http_->abort(i);
}

}  // namespace sgp::remote
