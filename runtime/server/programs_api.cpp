// Program runs over HTTP: the CLI's interpreter on the server's io_context, one event per gen.
#include "server/programs_api.h"

#include "compiler/compile.h"
#include "interp/interpreter.h"
#include "interp/runtime_error.h"
#include "server/event_queue.h"
#include "server/observed_client.h"

namespace sgp::server {

namespace {

asio::awaitable<void> run_program(RequestContext& ctx) {
  ServerState& s = ctx.server;
  Json body = parse_json_object(ctx.req.body());
  auto source = get_string(body, "source");
  auto name = get_string(body, "program");
  if (source.has_value() == name.has_value())
    throw bad_param("source", "give exactly one of 'source' (program text) or 'program' (a name)");
  std::shared_ptr<const graph::Program> program;
  if (name) {
    auto it = s.programs.find(*name);
    if (it == s.programs.end())
      throw ApiError(404, "no program '" + *name + "' is registered on this server",
                     "invalid_request_error", "program_not_found");
    program = it->second;
  } else {
    if (!s.options.allow_program_source)
      throw ApiError(403,
                     "this server runs only registered programs (started with --no-program-source)",
                     "permission_error");
    std::string src = *source;
    compiler::CompileOptions copts;
    copts.require_main = true;
    compiler::CompileResult cr = compiler::compile_source("request.sgp", src, copts);
    if (!cr.ok())
      throw ApiError(400, cr.format_diagnostics(), "invalid_request_error", "compile_error");
    program = std::make_shared<const graph::Program>(std::move(cr.program));
  }
  interp::Map args;
  if (auto it = body.find("args"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_param("args", "'args' must be an object of main's arguments");
    args = interp::from_json(*it).as_map();
  }
  bool stream = get_bool(body, "stream").value_or(false);
  interp::RunOptions opts;
  opts.greedy = get_bool(body, "greedy").value_or(false);
  if (auto seed = get_int(body, "seed", INT64_MIN, INT64_MAX))
    opts.seed = static_cast<uint64_t>(*seed);
  opts.max_steps = s.options.limits.program_max_steps;
  opts.label = ctx.request_id;

  auto ex = s.io.get_executor();
  auto queue = std::make_shared<EventQueue>(ex);
  auto counter = std::make_shared<int>(0);
  Metrics* metrics = &s.metrics;
  auto client = std::make_shared<ObservedClient>(
      s.client, ex, [queue, counter, metrics](const engine::GenerateResult& r) {
        metrics->tokens(r.prompt_tokens, r.cached_tokens, static_cast<int>(r.tokens.size()));
        queue->push({{"type", "gen"},
                     {"index", (*counter)++},
                     {"text", r.text},
                     {"finish_reason", engine::finish_reason_name(r.finish)},
                     {"prompt_tokens", r.prompt_tokens},
                     {"cached_tokens", r.cached_tokens},
                     {"output_tokens", r.tokens.size()}});
      });
  auto interp = std::make_shared<interp::Interpreter>(ex, client, program);
  if (stream)
    opts.on_text = [queue](const std::string& d) { queue->push({{"type", "text"}, {"delta", d}}); };
  opts.on_print = [queue](const std::string& t) { queue->push({{"type", "print"}, {"text", t}}); };
  auto token = std::make_shared<interp::CancelToken>();
  opts.cancel = token;
  ctx.cancel->on_fire([token] { token->cancel(); });
  asio::co_spawn(
      ex, interp->run_main(std::move(args), opts),
      [queue, interp](std::exception_ptr e, interp::Value v) {
        if (!e) {
          queue->push({{"type", "result"}, {"result", interp::to_json(v)}});
        } else {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& err) {
            queue->push(
                {{"type", "error"},
                 {"error",
                  {{"message", err.what()}, {"type", "program_error"}, {"code", nullptr}}}});
          }
        }
        queue->close();
      });

  if (!stream) {
    Json gens = Json::array();
    std::string printed;
    Json result, error;
    while (auto ev = co_await queue->next()) {
      const std::string type = (*ev)["type"];
      if (type == "gen") {
        ev->erase("type");
        gens.push_back(std::move(*ev));
      } else if (type == "print") {
        printed += (*ev)["text"].get<std::string>();
      } else if (type == "result") {
        result = (*ev)["result"];
      } else if (type == "error") {
        error = (*ev)["error"];
      }
    }
    ctx.check_cancelled();
    if (!error.is_null()) throw ApiError(422, error["message"].get<std::string>(), "program_error");
    const Json reply1 = {{"result", result}, {"gens", gens}, {"printed", printed}};
    co_await ctx.respond(200, reply1);
    co_return;
  }
  bool ok = co_await ctx.sse_begin();
  while (auto ev = co_await queue->next()) {
    if (!ok) continue;  // client gone: the cancelled run still winds down
    if ((*ev)["type"] == "error" && ctx.cancel->fired())
      (*ev)["error"] = ctx.cancel_error()["error"];
    if ((*ev)["type"] == "error") ctx.log.error = (*ev)["error"]["message"].get<std::string>();
    ok = co_await ctx.sse_send(*ev);
  }
  if (ok && co_await ctx.sse_done()) co_await ctx.sse_end();
}

}  // namespace

void add_program_routes(Router& router) {
  router.add({http::verb::post, "/v1/programs/run", run_program, false, true});
}

}  // namespace sgp::server
