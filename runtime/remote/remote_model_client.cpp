// RemoteModelClient: the native API's JSON (requests out, results and stream events in).
#include "remote/remote_model_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "remote/json_wire.h"
#include "sgp/error.h"

namespace sgp::remote {

namespace {

Json sampling_json(const engine::SamplingParams& sp) {
  Json j = {{"max_tokens", sp.max_tokens},
            {"min_tokens", sp.min_tokens},
            {"temperature", sp.temperature},
            {"top_p", sp.top_p},
            {"top_k", sp.top_k},
            {"min_p", sp.min_p},
            {"frequency_penalty", sp.frequency_penalty},
            {"presence_penalty", sp.presence_penalty},
            {"repetition_penalty", sp.repetition_penalty},
            {"stop", sp.stop},
            {"stop_token_ids", sp.stop_token_ids},
            {"ignore_eos", sp.ignore_eos},
            {"logprobs", sp.logprobs}};
  if (sp.seed) j["seed"] = *sp.seed;
  const engine::ConstraintSpec& c = sp.constraint_spec;
  switch (c.kind) {
    case engine::ConstraintSpec::Kind::None:
      if (sp.constraint)
        throw Error("a constraint built without its source cannot be sent to a remote server");
      break;
    case engine::ConstraintSpec::Kind::Regex:
      j["regex"] = c.text;
      break;
    case engine::ConstraintSpec::Kind::Json:
      // As JSON text: a server reading objects into an unordered map would lose the property
      // order, and the order the program wrote is the order the output must follow.
      j["json_schema"] = c.text;
      break;
    case engine::ConstraintSpec::Kind::Choices:
      j["choices"] = c.choices;
      break;
  }
  return j;
}

engine::FinishReason finish_from(const std::string& s) {
  if (s == "length") return engine::FinishReason::Length;
  if (s == "stop") return engine::FinishReason::Stop;
  if (s == "eos") return engine::FinishReason::Eos;
  if (s == "cancelled") return engine::FinishReason::Cancelled;
  if (s == "error") return engine::FinishReason::Error;
  throw Error("unknown finish_reason '" + s + "'");
}

std::vector<int32_t> token_list(const Json& j, int vocab_size, const char* what) {
  if (!j.is_array()) throw Error(std::string(what) + " is not a list");
  std::vector<int32_t> out;
  out.reserve(j.size());
  for (const Json& t : j) {
    if (!t.is_number_integer()) throw Error(std::string(what) + " holds a non-integer");
    int64_t v = t.get<int64_t>();
    if (v < 0 || (vocab_size > 0 && v >= vocab_size))
      throw Error(std::string(what) + " holds token id " + std::to_string(v) +
                  " outside the vocabulary");
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

// The final object of /generate (streamed or not) as the engine's result.
engine::GenerateResult generate_result(const Json& j, int vocab_size) {
  if (!j.is_object()) throw Error("the result is not a JSON object");
  engine::GenerateResult r;
  r.text = j.at("text").get<std::string>();
  r.tokens = token_list(j.at("output_ids"), vocab_size, "output_ids");
  r.finish = finish_from(j.at("finish_reason").get<std::string>());
  if (j.contains("error") && j["error"].is_string()) r.error = j["error"].get<std::string>();
  if (r.finish == engine::FinishReason::Error && r.error.empty()) r.error = "the server failed it";
  r.prompt_tokens = j.value("prompt_tokens", 0);
  r.cached_tokens = j.value("cached_tokens", 0);
  if (j.contains("logprobs") && j["logprobs"].is_array())
    for (const Json& e : j["logprobs"]) {
      engine::TokenLogprob lp;
      lp.token = e.at("token").get<int32_t>();
      lp.logprob = e.at("logprob").get<float>();
      if (e.contains("top"))
        for (const Json& t : e["top"])
          lp.top.emplace_back(t.at(0).get<int32_t>(), t.at(1).get<float>());
      r.logprobs.push_back(std::move(lp));
    }
  return r;
}

// The JSON body of a 2xx answer; throws sgp::Error with `what` and the reason otherwise.
Json answer_json(const HttpResult& r, const std::string& what) {
  std::string f = failure_text(r, what);
  if (!f.empty()) throw Error(f);
  auto j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(what + ": the answer is not a JSON object");
  return j;
}

// The backend, rather than the request, failed: no complete exchange (refused, reset, cut off
// mid-stream, silent past the deadline), or the server says it cannot take requests (a proxy's
// 502, 503 while draining, 429 when full).
std::optional<BackendFailure> backend_failure(const HttpResult& r, const std::string& what) {
  if (r.cancelled) return std::nullopt;
  if (!r.error.empty() || r.status == 0 || r.status == 502 || r.status == 503)
    return BackendFailure{failure_text(r, what), false};
  if (r.status == 429) return BackendFailure{failure_text(r, what), true};
  return std::nullopt;
}

// A blocking POST whose failure of the backend itself is thrown as BackendDown.
HttpResult call_or_down(HttpClient& http, const std::string& path, std::string body,
                        const std::string& what) {
  HttpResult r = http.call(HttpMethod::Post, path, std::move(body));
  if (auto down = backend_failure(r, what)) throw BackendDown(down->reason);
  return r;
}

HttpOptions probe_options(HttpOptions o) {
  o.connect_timeout_s = std::min(o.connect_timeout_s, 2.0);
  o.read_timeout_s = std::min(o.read_timeout_s, 5.0);
  o.max_idle_connections = 1;
  return o;
}

}  // namespace

RemoteModelClient::RemoteModelClient(Endpoint endpoint, HttpOptions options, bool allow_down)
    : http_(std::make_unique<HttpClient>(endpoint, options)),
      probe_http_(std::make_unique<HttpClient>(endpoint, probe_options(options))) {
  bool unreachable = false;
  std::string err = fetch_facts(*http_, unreachable);
  if (err.empty()) {
    ready_.store(true, std::memory_order_release);
    return;
  }
  if (!allow_down || !unreachable) throw Error(err);
  startup_error_ = err;
}

std::string RemoteModelClient::fetch_facts(HttpClient& http, bool& unreachable) {
  std::string what = where("model_info");
  HttpResult r = http.call(HttpMethod::Get, "/model_info", "");
  auto down = backend_failure(r, what);
  unreachable = down && !down->overloaded;
  if (std::string f = failure_text(r, what); !f.empty()) return f;
  auto j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return what + ": the answer is not a JSON object";
  try {
    model_ = j.value("model", std::string("remote"));
    vocab_size_ = j.value("vocab_size", 0);
    bos_id_ = j.value("bos_id", -1);
    add_bos_ = j.value("add_bos", false);
    if (j.contains("chat_template") && j["chat_template"].is_string())
      chat_template_ = j["chat_template"].get<std::string>();
  } catch (const Json::exception& e) {
    return what + ": unexpected answer (" + e.what() + "); is this an sgrun server?";
  }
  if (vocab_size_ < 0 || (vocab_size_ > 0 && bos_id_ >= vocab_size_))
    return what + ": inconsistent vocabulary facts";
  return "";
}

bool RemoteModelClient::probe(std::string& why) {
  if (!ready()) {
    bool unreachable = false;
    why = fetch_facts(*probe_http_, unreachable);
    if (!why.empty()) return false;
    ready_.store(true, std::memory_order_release);
    return true;
  }
  HttpResult r = probe_http_->call(HttpMethod::Get, "/health", "");
  why = failure_text(r, where("health"));
  return why.empty();
}

std::string RemoteModelClient::where(const char* what) const {
  return std::string(what) + " at " + http_->endpoint().url();
}

std::string RemoteModelClient::name() const {
  // model_ is written by probe() of a client that was down at start, before ready_.
  return (ready() ? model_ : std::string("(not reached yet)")) + " @ " + http_->endpoint().url();
}

engine::RequestId RemoteModelClient::generate(engine::GenerateRequest request) {
  return generate_or_down(std::move(request), nullptr);
}

engine::RequestId RemoteModelClient::score(engine::ScoreRequest request) {
  return score_or_down(std::move(request), nullptr);
}

engine::RequestId RemoteModelClient::generate_or_down(engine::GenerateRequest request,
                                                      OnDown on_down) {
  struct Call {
    engine::GenerateRequest req;
    std::unique_ptr<JsonEventStream> sse;
    Json final_result;
  };
  auto call = std::make_shared<Call>();
  Json body;
  try {
    body = {{"input_ids", request.prompt},
            {"sampling_params", sampling_json(request.sampling)},
            {"stream", static_cast<bool>(request.on_text)}};
  } catch (const Error& e) {
    // Bad input ends in on_done, as with the local engine; it still needs an id.
    return http_->defer([done = std::move(request.on_done), msg = std::string(e.what())] {
      done(failed_result(msg));
    });
  }
  call->req = std::move(request);
  std::function<void(std::string_view)> on_chunk;
  if (call->req.on_text) {
    Call* c = call.get();
    call->sse = std::make_unique<JsonEventStream>([c](Json& j) {
      if (j.value("done", false)) {
        c->final_result = std::move(j);
        return;
      }
      if (j.contains("delta") && j["delta"].is_string()) {
        std::string d = j["delta"].get<std::string>();
        if (!d.empty()) c->req.on_text(d);
      }
    });
    on_chunk = [c](std::string_view bytes) { c->sse->feed(bytes); };
  }
  std::string what = where("generate");
  int vocab = vocab_size_;
  engine::RequestId id =
      http_->start(HttpMethod::Post, "/generate", body_text(body), std::move(on_chunk),
                   [call, what, vocab, on_down = std::move(on_down)](HttpResult r) {
                     if (on_down)
                       if (auto down = backend_failure(r, what)) {
                         on_down(std::move(*down));
                         return;
                       }
                     engine::GenerateResult res;
                     if (auto failure = exchange_failure(r, what, call->sse.get())) {
                       res = std::move(*failure);
                     } else {
                       try {
                         if (call->sse) {
                           if (call->final_result.is_null())
                             throw Error("the stream ended without its final result");
                           res = generate_result(call->final_result, vocab);
                         } else {
                           auto j = Json::parse(r.body, nullptr, false);
                           if (j.is_discarded()) throw Error("the answer is not JSON");
                           res = generate_result(j, vocab);
                         }
                       } catch (const std::exception& e) {
                         res = failed_result(what + ": bad answer: " + e.what());
                       }
                     }
                     call->req.on_done(std::move(res));
                   });
  return id;
}

engine::RequestId RemoteModelClient::score_or_down(engine::ScoreRequest request, OnDown on_down) {
  Json body = {{"prefix_ids", request.prefix}, {"continuations", request.continuations}};
  std::string what = where("score");
  size_t n = request.continuations.size();
  std::vector<size_t> lengths;
  for (const auto& c : request.continuations) lengths.push_back(c.size());
  auto done = std::move(request.on_done);
  return http_->start(HttpMethod::Post, "/score", body_text(body), nullptr,
                      [done, what, n, lengths, on_down = std::move(on_down)](HttpResult r) {
                        if (on_down)
                          if (auto down = backend_failure(r, what)) {
                            on_down(std::move(*down));
                            return;
                          }
                        done(checked_score(what, [&](engine::ScoreResult& res) {
                          Json j = answer_json(r, what);
                          const Json& cs = j.at("choices");
                          if (!cs.is_array() || cs.size() != n)
                            throw Error(what + ": wrong number of scores");
                          for (size_t i = 0; i < n; ++i) {
                            engine::ScoreResult::Choice c;
                            c.token_logprobs = cs[i].at("token_logprobs").get<std::vector<float>>();
                            c.sum = cs[i].at("sum").get<float>();
                            if (c.token_logprobs.size() != lengths[i])
                              throw Error(what + ": wrong number of token log-probabilities");
                            res.choices.push_back(std::move(c));
                          }
                        }));
                      });
}

void RemoteModelClient::cancel(engine::RequestId id) {
  http_->abort(id);
}

std::vector<int32_t> RemoteModelClient::tokenize(std::string_view text, bool parse_special) const {
  if (text.empty()) return {};
  if (auto hit = cache_.get(text, parse_special)) return std::move(*hit);
  Json body = {{"text", std::string(text)}, {"parse_special", parse_special}};
  std::string what = where("tokenize");
  Json j = answer_json(call_or_down(*http_, "/tokenize", body_text(body), what), what);
  std::vector<int32_t> ids;
  try {
    ids = token_list(j.at("ids"), vocab_size_, "ids");
  } catch (const Json::exception& e) {
    throw Error(what + ": bad answer: " + e.what());
  } catch (const Error& e) {
    throw Error(what + ": bad answer: " + e.what());
  }
  cache_.put(text, parse_special, ids);
  return ids;
}

std::string RemoteModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  if (tokens.empty()) return "";
  Json body = {{"ids", tokens}};
  std::string what = where("detokenize");
  Json j = answer_json(call_or_down(*http_, "/detokenize", body_text(body), what), what);
  if (!j.contains("text") || !j["text"].is_string()) throw Error(what + ": bad answer");
  return j["text"].get<std::string>();
}

}  // namespace sgp::remote
