// The HTTP model clients against a scripted loopback server: requests on the wire, streamed
// results, select scores, cancels, and clear errors (down, 401, garbage, silence, lies).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "remote/endpoint.h"
#include "remote/openai_model_client.h"
#include "remote/remote_model_client.h"
#include "remote/sse_parser.h"
#include "scripted_server.h"
#include "sgp/error.h"

using namespace sgp;
using test::ScriptedServer;
using Json = nlohmann::json;

namespace {

const std::string kInfo =
    R"({"model":"fake","vocab_size":256,"bos_id":1,"add_bos":true,"eos_ids":[2],"chat_template":"T"})";

remote::HttpOptions quick() {
  remote::HttpOptions o;
  o.connect_timeout_s = 2;
  o.read_timeout_s = 2;
  return o;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct Waited {
  engine::GenerateResult result;
  std::string streamed;
};

Waited run_generate(interp::ModelClient& c, engine::GenerateRequest req, bool stream,
                    engine::RequestId* id_out = nullptr,
                    std::function<void(engine::RequestId)> after_submit = nullptr) {
  auto done = std::make_shared<std::promise<engine::GenerateResult>>();
  auto fut = done->get_future();
  auto streamed = std::make_shared<std::string>();
  auto mu = std::make_shared<std::mutex>();
  if (stream)
    req.on_text = [streamed, mu](const std::string& d) {
      std::lock_guard<std::mutex> lock(*mu);
      *streamed += d;
    };
  int calls = 0;
  req.on_done = [done, &calls](engine::GenerateResult r) {
    ++calls;
    done->set_value(std::move(r));
  };
  engine::RequestId id = c.generate(std::move(req));
  if (id_out) *id_out = id;
  if (after_submit) after_submit(id);
  REQUIRE(fut.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  Waited w{fut.get(), ""};
  std::lock_guard<std::mutex> lock(*mu);
  w.streamed = *streamed;
  CHECK(calls == 1);
  return w;
}

engine::ScoreResult run_score(interp::ModelClient& c, engine::ScoreRequest req) {
  auto done = std::make_shared<std::promise<engine::ScoreResult>>();
  auto fut = done->get_future();
  req.on_done = [done](engine::ScoreResult r) { done->set_value(std::move(r)); };
  c.score(std::move(req));
  REQUIRE(fut.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return fut.get();
}

}  // namespace

TEST_CASE("endpoint URLs") {
  auto e = remote::parse_endpoint("http://127.0.0.1:8080");
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == "8080");
  CHECK(e.base_path == "");
  e = remote::parse_endpoint("http://example.org/v1/");
  CHECK(e.port == "80");
  CHECK(e.base_path == "/v1");
  e = remote::parse_endpoint("http://[::1]:9000");
  CHECK(e.host == "::1");
  CHECK(e.url() == "http://[::1]:9000");
  for (const char* bad : {"127.0.0.1:80", "http://", "http://h:0", "http://h:99999", "http://h:x",
                          "http://u:p@h:1", "ftp://h", "http://h:1/a?b"})
    CHECK_MESSAGE(!error_of([&] { remote::parse_endpoint(bad); }).empty(), bad);
  CHECK(error_of([] { remote::parse_endpoint("https://h:1"); }).find("https") != std::string::npos);
}

TEST_CASE("event-stream parsing across arbitrary splits") {
  const std::string stream =
      ": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata: line2\n\nevent: x\ndata: "
      "[DONE]\n\n";
  for (size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<std::string> events;
    remote::SseParser p([&](const std::string& d) { events.push_back(d); });
    for (size_t i = 0; i < stream.size(); i += step)
      p.feed(std::string_view(stream).substr(i, step));
    REQUIRE(events.size() == 3);
    CHECK(events[0] == "{\"a\":1}");
    CHECK(events[1] == "line1\nline2");
    CHECK(events[2] == "[DONE]");
  }
  remote::SseParser small([](const std::string&) {}, 64);
  CHECK_THROWS_AS(small.feed("data: " + std::string(100, 'x')), Error);
}

TEST_CASE("server down: a clear error, quickly") {
  std::string url = "http://127.0.0.1:" + std::to_string(test::unused_port());
  std::string msg =
      error_of([&] { remote::RemoteModelClient c(remote::parse_endpoint(url), quick()); });
  INFO(msg);
  CHECK(msg.find("cannot connect") != std::string::npos);
  CHECK(msg.find(url) != std::string::npos);
}

TEST_CASE("401 and the bearer key") {
  ScriptedServer s([](const ScriptedServer::Request& r) -> ScriptedServer::Reply {
    auto it = r.headers.find("authorization");
    if (it == r.headers.end() || it->second != "Bearer sekrit")
      return {{ScriptedServer::response(
          401, R"({"error":{"message":"missing or invalid API key","type":"auth","code":null}})")}};
    return {{ScriptedServer::response(200, kInfo)}};
  });
  std::string msg =
      error_of([&] { remote::RemoteModelClient c(remote::parse_endpoint(s.url()), quick()); });
  INFO(msg);
  CHECK(msg.find("401") != std::string::npos);
  CHECK(msg.find("missing or invalid API key") != std::string::npos);
  CHECK(msg.find("--api-key") != std::string::npos);
  auto o = quick();
  o.api_key = "sekrit";
  remote::RemoteModelClient c(remote::parse_endpoint(s.url()), o);
  CHECK(c.bos_id() == 1);
  CHECK(c.add_bos());
  CHECK(c.chat_template() == "T");
  CHECK(c.vocab_size() == 256);
}

TEST_CASE("garbage, silence and a server that hangs up: errors, not hangs") {
  SUBCASE("not HTTP") {
    ScriptedServer s([](const ScriptedServer::Request&) -> ScriptedServer::Reply {
      return {{"HELLO THERE\r\n\r\n"}, false, true};
    });
    std::string msg =
        error_of([&] { remote::RemoteModelClient c(remote::parse_endpoint(s.url()), quick()); });
    INFO(msg);
    CHECK(msg.find("bad response") != std::string::npos);
  }
  SUBCASE("silence") {
    ScriptedServer s([](const ScriptedServer::Request&) -> ScriptedServer::Reply {
      return {{}, true, false};
    });
    auto o = quick();
    o.read_timeout_s = 0.5;
    std::string msg =
        error_of([&] { remote::RemoteModelClient c(remote::parse_endpoint(s.url()), o); });
    INFO(msg);
    CHECK(msg.find("timed out") != std::string::npos);
  }
  SUBCASE("not an sgrun server") {
    ScriptedServer s([](const ScriptedServer::Request&) -> ScriptedServer::Reply {
      return {{ScriptedServer::response(200, "<html>hi</html>", "text/html")}};
    });
    std::string msg =
        error_of([&] { remote::RemoteModelClient c(remote::parse_endpoint(s.url()), quick()); });
    INFO(msg);
    CHECK(msg.find("not a JSON object") != std::string::npos);
  }
}

namespace {

// A small native-API server: model_info, tokenize (bytes), a streamed or plain generate, score.
struct NativeFake {
  std::atomic<int> tokenize_calls{0};
  std::string gen_text = "Hello, world";
  std::string output_ids_json;  // overrides the ids derived from gen_text
  bool stall_after_first = false;
  std::unique_ptr<ScriptedServer> server;

  NativeFake() {
    server = std::make_unique<ScriptedServer>(
        [this](const ScriptedServer::Request& r) { return handle(r); });
  }

  ScriptedServer::Reply handle(const ScriptedServer::Request& r) {
    using S = ScriptedServer;
    if (r.target == "/model_info") return {{S::response(200, kInfo)}};
    Json body = Json::parse(r.body);
    if (r.target == "/tokenize") {
      ++tokenize_calls;
      std::vector<int> ids;
      for (unsigned char c : body["text"].get<std::string>()) ids.push_back(c);
      return {{S::response(200, Json{{"ids", ids}}.dump())}};
    }
    if (r.target == "/score") {
      Json choices = Json::array();
      for (const auto& c : body["continuations"]) {
        std::vector<float> lp(c.size(), -0.5f);
        choices.push_back({{"token_logprobs", lp}, {"sum", -0.5f * c.size()}});
      }
      return {{S::response(200, Json{{"choices", choices}}.dump())}};
    }
    std::vector<int> ids;
    for (unsigned char c : gen_text) ids.push_back(c);
    Json final_obj = {{"id", "gen-1"},          {"text", gen_text},   {"output_ids", ids},
                      {"finish_reason", "eos"}, {"prompt_tokens", 3}, {"cached_tokens", 1}};
    if (!output_ids_json.empty()) final_obj["output_ids"] = Json::parse(output_ids_json);
    if (!body["stream"].get<bool>()) return {{S::response(200, final_obj.dump())}};
    S::Reply rep;
    rep.pieces.push_back(S::sse_head());
    rep.pieces.push_back(
        S::sse_event(Json{{"id", "gen-1"}, {"delta", gen_text.substr(0, 5)}}.dump()));
    if (stall_after_first) {
      rep.hold = true;
      return rep;
    }
    // One event split over two chunks, to exercise reassembly.
    std::string ev = S::sse_event(Json{{"id", "gen-1"}, {"delta", gen_text.substr(5)}}.dump());
    rep.pieces.push_back(ev.substr(0, 9));
    rep.pieces.push_back(ev.substr(9));
    final_obj["done"] = true;
    rep.pieces.push_back(S::sse_event(final_obj.dump()));
    rep.pieces.push_back(S::sse_event("[DONE]"));
    rep.pieces.push_back(S::sse_end());
    return rep;
  }
};

}  // namespace

TEST_CASE("native generate: streamed deltas, the final result, constraints sent as source") {
  NativeFake f;
  remote::RemoteModelClient c(remote::parse_endpoint(f.server->url()), quick());
  for (bool stream : {true, false}) {
    engine::GenerateRequest req;
    req.prompt = {1, 72, 105};
    req.sampling.temperature = 0;
    req.sampling.max_tokens = 7;
    req.sampling.stop = {"\n"};
    req.sampling.seed = 5;
    req.sampling.constraint_spec = {
        engine::ConstraintSpec::Kind::Json,
        R"({"type":"object","properties":{"z":{"type":"string"},"a":{"type":"integer"}}})",
        {}};
    Waited w = run_generate(c, std::move(req), stream);
    CHECK(w.result.finish == engine::FinishReason::Eos);
    CHECK(w.result.text == "Hello, world");
    CHECK(w.result.tokens.size() == 12);
    CHECK(w.result.prompt_tokens == 3);
    CHECK(w.result.cached_tokens == 1);
    CHECK(w.streamed == (stream ? "Hello, world" : ""));
    Json sent = Json::parse(f.server->requests().back().body);
    CHECK(sent["input_ids"] == Json({1, 72, 105}));
    CHECK(sent["stream"] == stream);
    CHECK(sent["sampling_params"]["max_tokens"] == 7);
    CHECK(sent["sampling_params"]["seed"] == 5);
    CHECK(sent["sampling_params"]["stop"] == Json({"\n"}));
    // The schema travels as text with its property order intact ("z" before "a").
    std::string schema = sent["sampling_params"]["json_schema"].get<std::string>();
    CHECK(schema.find("\"z\"") < schema.find("\"a\""));
  }
  engine::GenerateRequest choices;
  choices.prompt = {1};
  choices.sampling.constraint_spec = {engine::ConstraintSpec::Kind::Choices, "", {"yes", "no"}};
  run_generate(c, std::move(choices), false);
  CHECK(Json::parse(f.server->requests().back().body)["sampling_params"]["choices"] ==
        Json({"yes", "no"}));
}

TEST_CASE("native generate: a lying server gives a clear error, not bad tokens") {
  NativeFake f;
  f.output_ids_json = "[72, 9999]";
  remote::RemoteModelClient c(remote::parse_endpoint(f.server->url()), quick());
  engine::GenerateRequest req;
  req.prompt = {1};
  Waited w = run_generate(c, std::move(req), true);
  CHECK(w.result.finish == engine::FinishReason::Error);
  INFO(w.result.error);
  CHECK(w.result.error.find("outside the vocabulary") != std::string::npos);
}

TEST_CASE("native cancel closes the stream; the server sees the disconnect") {
  NativeFake f;
  f.stall_after_first = true;
  remote::RemoteModelClient c(remote::parse_endpoint(f.server->url()), quick());
  engine::GenerateRequest req;
  req.prompt = {1};
  std::atomic<bool> got_first{false};
  req.on_text = [&](const std::string&) { got_first = true; };
  auto done = std::make_shared<std::promise<engine::GenerateResult>>();
  auto fut = done->get_future();
  req.on_done = [done](engine::GenerateResult r) { done->set_value(std::move(r)); };
  engine::RequestId id = c.generate(std::move(req));
  for (int i = 0; i < 400 && !got_first; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(got_first);
  c.cancel(id);
  REQUIRE(fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(fut.get().finish == engine::FinishReason::Cancelled);
  for (int i = 0; i < 200 && f.server->closed_by_client() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(f.server->closed_by_client() == 1);
}

TEST_CASE("native score and cached tokenization") {
  NativeFake f;
  remote::RemoteModelClient c(remote::parse_endpoint(f.server->url()), quick());
  engine::ScoreRequest req;
  req.prefix = {1, 2, 3};
  req.continuations = {{4}, {5, 6}};
  engine::ScoreResult r = run_score(c, std::move(req));
  REQUIRE(r.error.empty());
  REQUIRE(r.choices.size() == 2);
  CHECK(r.choices[1].token_logprobs.size() == 2);
  CHECK(r.choices[1].sum == doctest::Approx(-1.0));
  Json sent = Json::parse(f.server->requests().back().body);
  CHECK(sent["prefix_ids"] == Json({1, 2, 3}));
  CHECK(sent["continuations"] == Json({{4}, {5, 6}}));

  CHECK(c.tokenize("abc", false) == std::vector<int32_t>{97, 98, 99});
  CHECK(c.tokenize("abc", false) == std::vector<int32_t>{97, 98, 99});
  CHECK(f.tokenize_calls == 1);
  c.tokenize("abc", true);  // parse_special is part of the key
  CHECK(f.tokenize_calls == 2);
}

namespace {

// An OpenAI-compatible fake: /v1/models, streamed /v1/completions, echo logprobs if `echo_ok`.
struct OpenAiFake {
  bool echo_ok = true;
  std::unique_ptr<ScriptedServer> server;
  OpenAiFake() {
    server = std::make_unique<ScriptedServer>([this](const ScriptedServer::Request& r) {
      using S = ScriptedServer;
      if (r.target == "/v1/models")
        return S::Reply{{S::response(200, R"({"object":"list","data":[{"id":"m1"}]})")}};
      Json body = Json::parse(r.body);
      if (body.value("echo", false)) {
        // One prompt per request. Two-byte "tokens"; logprob -1 each, none for the first.
        std::string p = body["prompt"];
        Json toks = Json::array(), lps = Json::array(), offs = Json::array();
        for (size_t k = 0; k < p.size(); k += 2) {
          toks.push_back(p.substr(k, 2));
          lps.push_back(k == 0 ? Json() : Json(-1.0));
          offs.push_back(k);
        }
        Json c = {{"index", 0}, {"text", p + "x"}};
        // Without echo support, a server gives the generated token's logprobs only.
        c["logprobs"] =
            echo_ok
                ? Json{{"tokens", toks}, {"token_logprobs", lps}, {"text_offset", offs}}
                : Json{{"tokens", {"x"}}, {"token_logprobs", {-0.1}}, {"text_offset", {p.size()}}};
        return S::Reply{{S::response(200, Json{{"choices", {c}}}.dump())}};
      }
      S::Reply rep;
      rep.pieces = {
          S::sse_head(),
          S::sse_event(R"({"choices":[{"index":0,"text":"Hi","finish_reason":null}]})"),
          S::sse_event(R"({"choices":[{"index":0,"text":" there","finish_reason":"stop"}]})"),
          S::sse_event("[DONE]"), S::sse_end()};
      return rep;
    });
  }
};

}  // namespace

TEST_CASE("openai mode: text completions, select through echoed logprobs, clear limits") {
  OpenAiFake f;
  auto ep = remote::parse_endpoint(f.server->url() + "/v1");
  remote::OpenAiModelClient c(ep, quick());
  CHECK(c.name().find("m1") != std::string::npos);
  CHECK(c.detokenize(c.tokenize("héllo", true)) == "héllo");

  engine::GenerateRequest req;
  req.prompt = c.tokenize("Say hi:", false);
  req.sampling.temperature = 0;
  req.sampling.constraint_spec = {engine::ConstraintSpec::Kind::Regex, "[a-z]+", {}};
  Waited w = run_generate(c, std::move(req), true);
  REQUIRE(w.result.finish == engine::FinishReason::Stop);
  CHECK(w.result.text == "Hi there");
  CHECK(w.streamed == "Hi there");
  CHECK(c.detokenize(w.result.tokens) == "Hi there");
  Json sent = Json::parse(f.server->requests().back().body);
  CHECK(sent["model"] == "m1");
  CHECK(sent["prompt"] == "Say hi:");
  CHECK(sent["response_format"]["regex"] == "[a-z]+");

  engine::ScoreRequest sr;
  sr.prefix = c.tokenize("ab", false);
  sr.continuations = {c.tokenize("cd", false), c.tokenize("cdef", false)};
  engine::ScoreResult r = run_score(c, std::move(sr));
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  CHECK(r.choices[0].sum == doctest::Approx(-1.0));
  CHECK(r.choices[1].sum == doctest::Approx(-2.0));
  CHECK(r.choices[1].token_logprobs.size() == 4);  // one per byte of "cdef"

  f.echo_ok = false;
  engine::ScoreRequest sr2;
  sr2.prefix = c.tokenize("ab", false);
  sr2.continuations = {c.tokenize("cd", false)};
  r = run_score(c, std::move(sr2));
  INFO(r.error);
  CHECK(r.error.find("log-probabilities") != std::string::npos);
  CHECK(r.error.find("--backend http://") != std::string::npos);
}
