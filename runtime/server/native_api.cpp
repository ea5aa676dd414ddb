// Native endpoints: raw token-level generation and scoring for remote sgp runtimes.
#include "server/native_api.h"

#include "server/chat_prompt.h"
#include "server/generation.h"
#include "server/openai_api.h"

namespace sgp::server {

namespace {

constexpr size_t kMaxContinuations = 1024;

Json result_json(const std::string& id, const engine::GenerateResult& r, bool with_logprobs) {
  Json j = {{"id", id},
            {"text", r.text},
            {"output_ids", r.tokens},
            {"finish_reason", engine::finish_reason_name(r.finish)},
            {"prompt_tokens", r.prompt_tokens},
            {"cached_tokens", r.cached_tokens}};
  if (!r.error.empty()) j["error"] = r.error;
  if (with_logprobs) {
    Json lps = Json::array();
    for (const auto& lp : r.logprobs) {
      Json top = Json::array();
      for (const auto& [t, p] : lp.top) top.push_back({t, p});
      lps.push_back({{"token", lp.token}, {"logprob", lp.logprob}, {"top", top}});
    }
    j["logprobs"] = lps;
  }
  return j;
}

asio::awaitable<void> generate(RequestContext& ctx) {
  ServerState& s = ctx.server;
  Json body = parse_json_object(ctx.req.body());
  int vocab = s.client->tokenizer()->n_vocab();
  std::vector<int32_t> prompt;
  if (auto ids = get_token_ids(body, "input_ids", vocab)) {
    if (body.contains("text") && !body["text"].is_null())
      throw bad_param("text", "give either 'input_ids' or 'text', not both");
    prompt = std::move(*ids);
    if (prompt.empty()) throw bad_param("input_ids", "'input_ids' is empty");
  } else if (auto text = get_string(body, "text")) {
    prompt = completion_prompt(*text, *s.client);
  } else {
    throw bad_param("input_ids", "'input_ids' or 'text' is required");
  }
  Json sp_json = body.contains("sampling_params") ? body["sampling_params"] : Json::object();
  if (sp_json.is_null()) sp_json = Json::object();
  if (!sp_json.is_object())
    throw bad_param("sampling_params", "'sampling_params' must be an object");
  ConstraintSpec spec;
  engine::SamplingParams sp = parse_native_sampling(sp_json, s.options.limits, vocab, spec);
  bool stream = get_bool(body, "stream").value_or(false);
  check_context(s, prompt.size(), sp.max_tokens);
  if (spec.kind != ConstraintSpec::Kind::None) {
    auto v = s.vocab;
    sp.constraint = build_constraint(spec, v);
  }
  ctx.check_cancelled();
  std::vector<engine::GenerateRequest> reqs(1);
  reqs[0].prompt = std::move(prompt);
  reqs[0].sampling = std::move(sp);
  bool with_logprobs = reqs[0].sampling.logprobs > 0;
  auto group = std::make_shared<GenerationGroup>(s.io.get_executor(), s.client, s.metrics);
  ctx.cancel->on_fire([w = std::weak_ptr<GenerationGroup>(group)] {
    if (auto g = w.lock()) g->cancel();
  });
  group->start(std::move(reqs));
  const std::string id = "gen-" + ctx.request_id;

  if (!stream) {
    auto results = co_await collect(*group);
    ctx.check_cancelled();
    ctx.log.prompt_tokens = results[0].prompt_tokens;
    ctx.log.completion_tokens = static_cast<int>(results[0].tokens.size());
    co_await ctx.respond(200, result_json(id, results[0], with_logprobs));
    co_return;
  }
  bool ok = co_await ctx.sse_begin();
  std::optional<engine::GenerateResult> final;
  while (auto ev = co_await group->next()) {
    if (ev->done) {
      final = std::move(ev->result);
    } else if (ok) {
      const Json reply1 = {{"id", id}, {"delta", ev->delta}};
      ok = co_await ctx.sse_send(reply1);
    }
  }
  if (!ok || !final) co_return;
  ctx.log.prompt_tokens = final->prompt_tokens;
  ctx.log.completion_tokens = static_cast<int>(final->tokens.size());
  if (ctx.cancel->fired()) {
    ok = co_await ctx.sse_send(ctx.cancel_error());
  } else {
    Json done = result_json(id, *final, with_logprobs);
    done["done"] = true;
    ok = co_await ctx.sse_send(done);
  }
  if (ok && co_await ctx.sse_done()) co_await ctx.sse_end();
}

asio::awaitable<void> score(RequestContext& ctx) {
  ServerState& s = ctx.server;
  Json body = parse_json_object(ctx.req.body());
  int vocab = s.client->tokenizer()->n_vocab();
  engine::ScoreRequest req;
  req.prefix = get_token_ids(body, "prefix_ids", vocab).value_or(std::vector<int32_t>{});
  if (req.prefix.empty()) throw bad_param("prefix_ids", "'prefix_ids' must be a non-empty list");
  auto conts = body.find("continuations");
  if (conts == body.end() || !conts->is_array() || conts->empty() ||
      conts->size() > kMaxContinuations)
    throw bad_param("continuations", "'continuations' must be a list of 1 to " +
                                         std::to_string(kMaxContinuations) + " token id lists");
  size_t longest = 0;
  for (const Json& c : *conts) {
    Json wrap = {{"continuations", c}};
    auto ids = get_token_ids(wrap, "continuations", vocab);
    if (!ids || ids->empty())
      throw bad_param("continuations", "each continuation must be a non-empty token id list");
    longest = std::max(longest, ids->size());
    req.continuations.push_back(std::move(*ids));
  }
  check_context(s, req.prefix.size(), static_cast<int>(longest));
  engine::ScoreResult r = co_await run_score(s.client, std::move(req), ctx.cancel);
  ctx.check_cancelled();
  if (!r.error.empty()) throw ApiError(400, "scoring failed: " + r.error);
  Json choices = Json::array();
  for (const auto& c : r.choices)
    choices.push_back({{"token_logprobs", c.token_logprobs}, {"sum", c.sum}});
  const Json reply2 = {{"choices", choices}};
  co_await ctx.respond(200, reply2);
}

asio::awaitable<void> tokenize(RequestContext& ctx) {
  Json body = parse_json_object(ctx.req.body());
  auto text = get_string(body, "text");
  if (!text) throw bad_param("text", "'text' is required");
  bool special = get_bool(body, "parse_special").value_or(false);
  const Json reply3 = {{"ids", ctx.server.client->tokenize(*text, special)}};
  co_await ctx.respond(200, reply3);
}

asio::awaitable<void> detokenize(RequestContext& ctx) {
  Json body = parse_json_object(ctx.req.body());
  auto ids = get_token_ids(body, "ids", ctx.server.client->tokenizer()->n_vocab());
  if (!ids) throw bad_param("ids", "'ids' is required");
  const Json reply4 = {{"text", ctx.server.client->detokenize(*ids)}};
  co_await ctx.respond(200, reply4);
}

asio::awaitable<void> model_info(RequestContext& ctx) {
  const auto& c = *ctx.server.client;
  const Json reply5 = {{"model", ctx.server.model_id},
                       {"vocab_size", c.tokenizer()->n_vocab()},
                       {"bos_id", c.bos_id()},
                       {"add_bos", c.add_bos()},
                       {"eos_ids", c.tokenizer()->stop_ids()},
                       {"chat_template", c.chat_template()}};
  co_await ctx.respond(200, reply5);
}

asio::awaitable<void> health(RequestContext& ctx) {
  const bool draining = ctx.server.draining;
  const Json reply = {{"status", draining ? "draining" : "ok"}};
  co_await ctx.respond(draining ? 503 : 200, reply);
}

asio::awaitable<void> metrics(RequestContext& ctx) {
  const char* type = "text/plain; version=0.0.4";
  co_await ctx.respond_text(200, ctx.server.metrics.render(ctx.server.client->stats()), type);
}

}  // namespace

engine::SamplingParams parse_native_sampling(const Json& sp, const Limits& limits, int vocab,
                                             ConstraintSpec& constraint) {
  engine::SamplingParams out = parse_sampling(sp, limits, vocab);
  out.logprobs = static_cast<int>(get_int(sp, "logprobs", 0, 20).value_or(0));
  int kinds = 0;
  if (auto re = get_string(sp, "regex")) {
    constraint.kind = ConstraintSpec::Kind::Regex;
    constraint.regex = *re;
    ++kinds;
  }
  if (auto it = sp.find("json_schema"); it != sp.end() && !it->is_null()) {
    constraint.kind = ConstraintSpec::Kind::JsonSchema;
    if (it->is_object()) {
      constraint.schema = *it;
    } else if (it->is_string()) {
      constraint.schema = nlohmann::ordered_json::parse(it->get<std::string>(), nullptr, false);
      if (constraint.schema.is_discarded() || !constraint.schema.is_object())
        throw bad_param("json_schema", "'json_schema' text is not a JSON object");
    } else {
      throw bad_param("json_schema", "'json_schema' must be an object");
    }
    ++kinds;
  }
  if (auto choices = get_string_list(sp, "choices", 4096)) {
    constraint.kind = ConstraintSpec::Kind::Choices;
    constraint.choices = std::move(*choices);
    ++kinds;
  }
  if (kinds > 1)
    throw bad_param("sampling_params", "give at most one of regex, json_schema, choices");
  return out;
}

void add_native_routes(Router& router, bool public_metrics) {
  router.add({http::verb::get, "/health", health, true});
  router.add({http::verb::get, "/metrics", metrics, public_metrics});
  router.add({http::verb::get, "/model_info", model_info});
  router.add({http::verb::post, "/tokenize", tokenize});
  router.add({http::verb::post, "/detokenize", detokenize});
  router.add({http::verb::post, "/generate", generate, false, true});
  router.add({http::verb::post, "/score", score, false, true});
}

}  // namespace sgp::server
