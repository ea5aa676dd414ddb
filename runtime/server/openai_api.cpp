// OpenAI-compatible chat, completions and models endpoints (whole responses and SSE streams).
#include "server/openai_api.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "server/chat_prompt.h"
#include "server/generation.h"
#include "server/openai_request.h"

namespace sgp::server {

namespace {

const char* openai_finish(engine::FinishReason f) {
  switch (f) {
    case engine::FinishReason::Length:
    case engine::FinishReason::Cancelled:
      return "length";
    default:
      return "stop";
  }
}

Json token_bytes_json(const std::string& s) {
  Json b = Json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

Json chat_logprobs(const engine::GenerateResult& r, const model::Tokenizer& tok, int top_n) {
  Json content = Json::array();
  for (const engine::TokenLogprob& lp : r.logprobs) {
    const std::string& text = tok.token_bytes(lp.token);
    Json top = Json::array();
    for (size_t i = 0; i < lp.top.size() && static_cast<int>(i) < top_n; ++i) {
      const std::string& t = tok.token_bytes(lp.top[i].first);
      top.push_back({{"token", t}, {"logprob", lp.top[i].second}, {"bytes", token_bytes_json(t)}});
    }
    content.push_back({{"token", text},
                       {"logprob", lp.logprob},
                       {"bytes", token_bytes_json(text)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// The echoed prompt's tokens with the log-probability of each given the ones before it (the
// first has none: null), for `echo` with `logprobs`, as vLLM returns them. Token texts
// concatenate to the echoed text.
struct PromptLogprobs {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;  // for tokens[1..], or for every token when `first_scored`
  bool first_scored = false;    // tokens[0] follows a BOS the echo leaves out
};

Json completion_logprobs(const engine::GenerateResult& r, const model::Tokenizer& tok, int top_n,
                         size_t offset0, const PromptLogprobs* prompt = nullptr) {
  Json tokens = Json::array(), lps = Json::array(), tops = Json::array(), offs = Json::array();
  size_t off = offset0;
  if (prompt) {
    size_t p_off = 0;
    for (size_t i = 0; i < prompt->tokens.size(); ++i) {
      const std::string& text = tok.token_bytes(prompt->tokens[i]);
      size_t k = prompt->first_scored ? i : i - 1;
      bool has = prompt->first_scored || i > 0;
      tokens.push_back(text);
      lps.push_back(has ? Json(prompt->logprobs[k]) : Json());
      tops.push_back(has ? Json{{text, prompt->logprobs[k]}} : Json());
      offs.push_back(p_off);
      p_off += text.size();
    }
  }
  for (const engine::TokenLogprob& lp : r.logprobs) {
    const std::string& text = tok.token_bytes(lp.token);
    tokens.push_back(text);
    lps.push_back(lp.logprob);
    Json top = Json::object();
    for (size_t i = 0; i < lp.top.size() && static_cast<int>(i) < top_n; ++i)
      top[tok.token_bytes(lp.top[i].first)] = lp.top[i].second;
    tops.push_back(top);
    offs.push_back(off);
    off += text.size();
  }
  return {
      {"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

// PromptLogprobs of prompt[skip..], all scored in one batched forward after prompt[0].
asio::awaitable<PromptLogprobs> score_prompt(RequestContext& ctx,
                                             const std::vector<int32_t>& prompt, size_t skip) {
  PromptLogprobs out;
  out.tokens.assign(prompt.begin() + static_cast<std::ptrdiff_t>(skip), prompt.end());
  out.first_scored = skip > 0;
  if (prompt.size() < 2) co_return out;
  engine::ScoreRequest req;
  req.prefix = {prompt[0]};
  req.continuations = {std::vector<int32_t>(prompt.begin() + 1, prompt.end())};
  engine::ScoreResult r = co_await run_score(ctx.server.client, std::move(req), ctx.cancel);
  ctx.check_cancelled();
  if (!r.error.empty() || r.choices.size() != 1)
    throw ApiError(400, "scoring the prompt for its logprobs failed: " + r.error);
  out.logprobs = std::move(r.choices[0].token_logprobs);
  co_return out;
}

Json usage_json(int prompt, int cached, int completion) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

// Engine errors are input problems the engine found (e.g. a prompt larger than the KV pool).
void check_results(const std::vector<engine::GenerateResult>& results) {
  for (const auto& r : results)
    if (r.finish == engine::FinishReason::Error)
      throw ApiError(400, "generation failed: " + r.error, "invalid_request_error");
}

asio::awaitable<void> completions(RequestContext& ctx, bool chat) {
  ServerState& s = ctx.server;
  Json body = parse_json_object(ctx.req.body());
  const model::Tokenizer& tok = *s.client->tokenizer();
  OpenAiRequest r = parse_openai_request(body, chat, s.options.limits, tok.n_vocab());
  check_model(s, r.model);
  std::vector<int32_t> prompt;
  std::string echo;
  if (chat) {
    ChatPrompt cp = render_chat(r.messages, *s.client);
    prompt = std::move(cp.tokens);
    for (const std::string& st : cp.stop)
      if (std::find(r.sampling.stop.begin(), r.sampling.stop.end(), st) == r.sampling.stop.end())
        r.sampling.stop.push_back(st);
  } else if (r.prompt_is_ids) {
    prompt = r.prompt_ids;
    if (r.echo) echo = s.client->detokenize(prompt);
  } else {
    prompt = completion_prompt(r.prompt_text, *s.client);
    echo = r.prompt_text;
  }
  check_context(s, prompt.size(), r.sampling.max_tokens);
  std::optional<PromptLogprobs> prompt_lp;
  if (!chat && r.echo && r.logprobs) {
    // A BOS that completion_prompt put first is not part of the echoed text.
    bool bos = !r.prompt_is_ids && s.client->add_bos() && s.client->bos_id() >= 0;
    prompt_lp = co_await score_prompt(ctx, prompt, bos ? 1 : 0);
  }
  if (r.constraint.kind != ConstraintSpec::Kind::None) {
    auto vocab = s.vocab;
    ConstraintSpec spec = r.constraint;
    r.sampling.constraint = build_constraint(spec, vocab);
  }
  ctx.check_cancelled();
  std::vector<engine::GenerateRequest> reqs(static_cast<size_t>(r.n));
  for (int i = 0; i < r.n; ++i) {
    reqs[i].prompt = prompt;
    reqs[i].sampling = r.sampling;
    if (r.sampling.seed) reqs[i].sampling.seed = *r.sampling.seed + static_cast<uint64_t>(i);
  }
  auto group = std::make_shared<GenerationGroup>(s.io.get_executor(), s.client, s.metrics);
  ctx.cancel->on_fire([w = std::weak_ptr<GenerationGroup>(group)] {
    if (auto g = w.lock()) g->cancel();
  });
  group->start(std::move(reqs));

  const std::string id = std::string(chat ? "chatcmpl-" : "cmpl-") + ctx.request_id;
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const std::string model = s.model_id;
  const char* object = chat ? "chat.completion" : "text_completion";
  if (!r.echo) echo.clear();

  if (!r.stream) {
    std::vector<engine::GenerateResult> results = co_await collect(*group);
    ctx.check_cancelled();
    check_results(results);
    Json choices = Json::array();
    int completion_tokens = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& res = results[i];
      completion_tokens += static_cast<int>(res.tokens.size());
      Json c = {{"index", i}};
      if (chat)
        c["message"] = {{"role", "assistant"}, {"content", res.text}};
      else
        c["text"] = echo + res.text;
      c["logprobs"] = nullptr;
      if (r.logprobs)
        c["logprobs"] = chat ? chat_logprobs(res, tok, r.top_logprobs)
                             : completion_logprobs(res, tok, r.top_logprobs, echo.size(),
                                                   prompt_lp ? &*prompt_lp : nullptr);
      c["finish_reason"] = openai_finish(res.finish);
      choices.push_back(std::move(c));
    }
    int prompt_tokens = results.empty() ? 0 : results[0].prompt_tokens;
    int cached = results.empty() ? 0 : results[0].cached_tokens;
    ctx.log.prompt_tokens = prompt_tokens;
    ctx.log.completion_tokens = completion_tokens;
    const Json reply1 = {
        {"id", id},           {"object", object},
        {"created", created}, {"model", model},
        {"choices", choices}, {"usage", usage_json(prompt_tokens, cached, completion_tokens)}};
    co_await ctx.respond(200, reply1);
    co_return;
  }

  // Streaming: one chunk per text piece, a closing chunk per choice, optionally usage.
  const char* chunk_object = chat ? "chat.completion.chunk" : "text_completion";
  auto chunk = [&](Json choice) {
    return Json{{"id", id},
                {"object", chunk_object},
                {"created", created},
                {"model", model},
                {"choices", Json::array({std::move(choice)})}};
  };
  bool ok = co_await ctx.sse_begin();
  for (int i = 0; ok && i < r.n; ++i) {
    Json c = {{"index", i}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (chat)
      c["delta"] = {{"role", "assistant"}, {"content", ""}};
    else
      c["text"] = echo;
    ok = co_await ctx.sse_send(chunk(c));
  }
  int prompt_tokens = 0, cached = 0, completion_tokens = 0;
  bool failed = false;
  while (auto ev = co_await group->next()) {
    if (!ok) continue;  // client gone: drain the cancelled requests
    Json c = {{"index", ev->index}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (!ev->done) {
      if (chat)
        c["delta"] = {{"content", ev->delta}};
      else
        c["text"] = ev->delta;
      ok = co_await ctx.sse_send(chunk(c));
      continue;
    }
    const auto& res = ev->result;
    if (res.finish == engine::FinishReason::Error) failed = true;
    if (res.finish == engine::FinishReason::Error || ctx.cancel->fired()) continue;
    prompt_tokens = res.prompt_tokens;
    cached = res.cached_tokens;
    completion_tokens += static_cast<int>(res.tokens.size());
    if (chat)
      c["delta"] = Json::object();
    else
      c["text"] = "";
    if (r.logprobs)
      c["logprobs"] = chat ? chat_logprobs(res, tok, r.top_logprobs)
                           : completion_logprobs(res, tok, r.top_logprobs, echo.size(),
                                                 prompt_lp ? &*prompt_lp : nullptr);
    c["finish_reason"] = openai_finish(res.finish);
    ok = co_await ctx.sse_send(chunk(c));
  }
  ctx.log.prompt_tokens = prompt_tokens;
  ctx.log.completion_tokens = completion_tokens;
  if (!ok) co_return;
  if (ctx.cancel->fired() || failed) {
    Json err = failed && !ctx.cancel->fired()
                   ? error_body(ApiError(400, "generation failed", "invalid_request_error"))
                   : ctx.cancel_error();
    ctx.log.error = err["error"]["message"].get<std::string>();
    ok = co_await ctx.sse_send(err);
  } else if (r.include_usage) {
    Json u = {{"id", id},
              {"object", chunk_object},
              {"created", created},
              {"model", model},
              {"choices", Json::array()},
              {"usage", usage_json(prompt_tokens, cached, completion_tokens)}};
    co_await ctx.sse_send(u);
  }
  if (co_await ctx.sse_done()) co_await ctx.sse_end();
}

asio::awaitable<void> models(RequestContext& ctx) {
  const ServerState& s = ctx.server;
  Json m = {{"id", s.model_id},
            {"object", "model"},
            {"created", static_cast<int64_t>(s.started)},
            {"owned_by", "sgp"}};
  const Json reply2 = {{"object", "list"}, {"data", Json::array({m})}};
  co_await ctx.respond(200, reply2);
}

}  // namespace

void check_model(const ServerState& server, const std::string& model) {
  if (!model.empty() && model != server.model_id && model != "default")
    throw ApiError(
        404, "the model '" + model + "' does not exist (this server has '" + server.model_id + "')",
        "invalid_request_error", "model_not_found");
}

void check_context(const ServerState& server, size_t prompt_tokens, int max_tokens) {
  int ctx = server.client->engine().config().n_ctx_train;
  if (ctx > 0 && prompt_tokens + static_cast<size_t>(max_tokens) > static_cast<size_t>(ctx))
    throw ApiError(400,
                   "the prompt (" + std::to_string(prompt_tokens) + " tokens) plus max_tokens (" +
                       std::to_string(max_tokens) + ") exceeds the model's context of " +
                       std::to_string(ctx) + " tokens",
                   "invalid_request_error", "context_length_exceeded");
}

void add_openai_routes(Router& router) {
  router.add({http::verb::post, "/v1/chat/completions",
              [](RequestContext& c) { return completions(c, true); }, false, true});
  router.add({http::verb::post, "/v1/completions",
              [](RequestContext& c) { return completions(c, false); }, false, true});
  router.add({http::verb::get, "/v1/models", models});
}

}  // namespace sgp::server
