// Server unit tests: HTTP parsing limits, request bodies, auth (keys, HS256/RS256 JWTs), metrics.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <jwt.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "constraint/constraint_factory.h"
#include "server/access_log.h"
#include "server/api_error.h"
#include "server/auth.h"
#include "server/http_message.h"
#include "server/metrics.h"
#include "server/native_api.h"
#include "server/openai_request.h"
#include "sgp/error.h"

using namespace sgp::server;

namespace {

// The status of the ApiError `f` throws (0: none).
template <class F>
int status_of(F f, std::string* code = nullptr) {
  try {
    f();
  } catch (const ApiError& e) {
    if (code) *code = e.code();
    return e.status();
  }
  return 0;
}

OpenAiRequest chat(const std::string& body, const Limits& l = {}) {
  return parse_openai_request(parse_json_object(body), true, l, 1000);
}

std::string make_jwt(jwt_alg_t alg, const std::string& key, long exp_offset,
                     const std::string& aud = "") {
  jwt_t* j = nullptr;
  REQUIRE(jwt_new(&j) == 0);
  jwt_add_grant(j, "sub", "alice");
  if (exp_offset != 0)
    jwt_add_grant_int(j, "exp", static_cast<long>(std::time(nullptr)) + exp_offset);
  if (!aud.empty()) jwt_add_grant(j, "aud", aud.c_str());
  REQUIRE(jwt_set_alg(j, alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0);
  char* s = jwt_encode_str(j);
  REQUIRE(s != nullptr);
  std::string out(s);
  std::free(s);
  jwt_free(j);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("HTTP requests parse within the limits and fail with the right status past them") {
  Limits l;
  l.max_body_bytes = 64;
  l.max_header_bytes = 256;
  auto ok = parse_request_bytes(
      "POST /v1/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}", l);
  REQUIRE(ok.request);
  CHECK(ok.request->body() == "{}");
  CHECK(request_path(*ok.request) == "/v1/completions");

  std::string big(65, 'x');
  auto body = parse_request_bytes("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + big, l);
  CHECK_FALSE(body.request);
  CHECK(body.status == 413);

  std::string hdr = "GET / HTTP/1.1\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n";
  CHECK(parse_request_bytes(hdr, l).status == 431);
  CHECK(parse_request_bytes("NOT HTTP AT ALL\r\n\r\n", l).status == 400);
  // A body shorter than its Content-Length is incomplete, not a request.
  CHECK(parse_request_bytes("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}", l).status == 400);
  // Chunked bodies count against the same limit.
  std::string chunked =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + big + "\r\n0\r\n\r\n";
  CHECK(parse_request_bytes(chunked, l).status == 413);
}

TEST_CASE("request ids: a sane incoming X-Request-Id is kept, anything else replaced") {
  Request r;
  r.set("X-Request-Id", "abc-123");
  CHECK(request_id_for(r) == "abc-123");
  r.set("X-Request-Id", "has space");
  CHECK(request_id_for(r) != "has space");
  r.set("X-Request-Id", std::string(200, 'a'));
  CHECK(request_id_for(r).size() < 200);
  Request none;
  std::string a = request_id_for(none), b = request_id_for(none);
  CHECK(a != b);
  CHECK(a.rfind("req-", 0) == 0);
}

TEST_CASE("request bodies: malformed JSON and wrong types are 400s naming the field") {
  CHECK(status_of([] { parse_json_object("{not json"); }) == 400);
  CHECK(status_of([] { parse_json_object("[1,2]"); }) == 400);
  CHECK(status_of([] { parse_json_object(""); }) == 400);
  std::string code;
  CHECK(status_of([] { chat(R"({"messages": "hi"})"); }, &code) == 400);
  CHECK(code == "messages");
  CHECK(status_of([] { chat(R"({"messages": []})"); }) == 400);
  CHECK(status_of([] { chat(R"({"messages": [{"role": "wizard", "content": "x"}]})"); }) == 400);
  CHECK(status_of([] { chat(R"({"messages": [{"role": "user", "content": 5}]})"); }) == 400);
  CHECK(
      status_of(
          [] { chat(R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})"); },
          &code) == 400);
  CHECK(code == "temperature");
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3})");
        }) == 400);
  CHECK(status_of([] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "seed": 1e300})");
        }) == 400);
}

TEST_CASE("OpenAI request fields map onto sampling params and limits") {
  Limits l;
  l.max_tokens = 100;
  l.default_max_tokens = 20;
  l.max_n = 4;
  auto r = chat(
      R"({"model": "m", "messages": [{"role": "developer", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "user", "content": "hi"}], "temperature": 0, "top_p": 0.5, "top_k": 7, "min_p": 0.1,
                "seed": 42, "stop": "END", "n": 3, "logprobs": true, "top_logprobs": 2,
                "stream": true, "stream_options": {"include_usage": true}, "presence_penalty": 0.5})",
      l);
  CHECK(r.messages.size() == 2);
  CHECK(r.messages[0].role == "system");
  CHECK(r.messages[0].content == "ab");
  CHECK(r.sampling.max_tokens == 20);  // the default
  CHECK(r.sampling.temperature == 0.0f);
  CHECK(r.sampling.top_p == 0.5f);
  CHECK(r.sampling.top_k == 7);
  CHECK(r.sampling.seed == 42u);
  CHECK(r.sampling.stop == std::vector<std::string>{"END"});
  CHECK(r.sampling.logprobs == 2);
  CHECK(r.sampling.presence_penalty == 0.5f);
  CHECK(r.n == 3);
  CHECK(r.stream);
  CHECK(r.include_usage);
  std::string code;
  CHECK(status_of(
            [&] {
              chat(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 101})", l);
            },
            &code) == 400);
  CHECK(code == "max_tokens");
  CHECK(chat(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100})", l)
            .sampling.max_tokens == 100);
  CHECK(status_of([&] {
          chat(R"({"messages": [{"role": "user", "content": "x"}], "n": 5})", l);
        }) == 400);

  auto c = parse_openai_request(
      parse_json_object(R"({"prompt": [1, 2, 3], "logprobs": 2, "echo": true})"), false, l, 1000);
  CHECK(c.prompt_is_ids);
  CHECK(c.prompt_ids == std::vector<int32_t>{1, 2, 3});
  CHECK(c.top_logprobs == 2);
  CHECK(c.echo);
  CHECK(status_of([&] {
          parse_openai_request(parse_json_object(R"({"prompt": [1, 5000]})"), false, l, 1000);
        }) == 400);
  CHECK(status_of([&] {
          parse_openai_request(parse_json_object(R"({"prompt": ["a", "b"]})"), false, l, 1000);
        }) == 400);
  CHECK(status_of([&] { parse_openai_request(parse_json_object(R"({})"), false, l, 1000); }) ==
        400);
}

TEST_CASE("response_format: json_schema, json_object and the regex extension") {
  auto js = parse_response_format(Json::parse(
      R"({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object",
                  "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}, "required": ["b", "a"]}}})"));
  REQUIRE(js.kind == ConstraintSpec::Kind::JsonSchema);
  // Property order survives (generation follows the schema's order).
  CHECK(js.schema["properties"].begin().key() == "b");
  auto re = parse_response_format(Json::parse(R"({"type": "regex", "regex": "[0-9]+"})"));
  CHECK(re.kind == ConstraintSpec::Kind::Regex);
  CHECK(re.regex == "[0-9]+");
  CHECK(parse_response_format(Json::parse(R"({"type": "text"})")).kind ==
        ConstraintSpec::Kind::None);
  CHECK(status_of([] { parse_response_format(Json::parse(R"({"type": "xml"})")); }) == 400);
  CHECK(status_of([] { parse_response_format(Json::parse(R"({"type": "json_schema"})")); }) == 400);
  CHECK(status_of([] { parse_response_format(Json::parse(R"({"type": "regex", "regex": 3})")); }) ==
        400);

  auto obj = parse_response_format(Json::parse(R"({"type": "json_object"})"));
  REQUIRE(obj.kind == ConstraintSpec::Kind::Regex);
  auto problem = sgp::constraint::validate_regex(obj.regex);
  CHECK_MESSAGE(!problem.has_value(), problem.value_or(""));
  std::regex r(obj.regex, std::regex::ECMAScript);
  for (const char* ok :
       {R"({})", R"({"a":1})", R"({"a": [1, "x", {"b": null}], "c": true})", R"({"n": -1.5e3})"}) {
    CHECK_MESSAGE(std::regex_match(ok, r), ok);
    CHECK(Json::parse(ok, nullptr, false).is_object());
  }
  for (const char* bad : {R"([])", R"({"a"})", R"({"a":1,})", R"({a:1})", R"("x")"})
    CHECK_FALSE_MESSAGE(std::regex_match(bad, r), bad);
}

TEST_CASE("native sampling params: one constraint at most, logprobs as a count") {
  Limits l;
  ConstraintSpec spec;
  auto sp = parse_native_sampling(
      Json::parse(R"({"max_tokens": 5, "logprobs": 3, "choices": ["yes", "no"],
                                                  "stop_token_ids": [2], "ignore_eos": true})"),
      l, 1000, spec);
  CHECK(sp.max_tokens == 5);
  CHECK(sp.logprobs == 3);
  CHECK(sp.ignore_eos);
  CHECK(sp.stop_token_ids == std::vector<int32_t>{2});
  CHECK(spec.kind == ConstraintSpec::Kind::Choices);
  ConstraintSpec s2;
  parse_native_sampling(Json::parse(R"({"json_schema": "{\"type\": \"integer\"}"})"), l, 1000, s2);
  CHECK(s2.kind == ConstraintSpec::Kind::JsonSchema);
  ConstraintSpec s3;
  CHECK(status_of([&] {
          parse_native_sampling(Json::parse(R"({"regex": "a", "choices": ["b"]})"), l, 1000, s3);
        }) == 400);
  CHECK(status_of([&] {
          parse_native_sampling(Json::parse(R"({"stop_token_ids": [1000]})"), l, 1000, s3);
        }) == 400);
}

TEST_CASE("API keys: Bearer only, exact match, clear 401s") {
  AuthOptions o;
  o.api_keys = {"secret-key-1", "secret-key-2"};
  Authenticator a(o);
  CHECK(a.check("Bearer secret-key-1").status == 200);
  CHECK(a.check("Bearer secret-key-2").status == 200);
  CHECK(a.check("Bearer secret-key-3").status == 401);
  CHECK(a.check("Bearer secret-key-").status == 401);
  CHECK(a.check("Bearer secret-key-11").status == 401);
  CHECK(a.check("Basic secret-key-1").status == 401);
  CHECK(a.check("").status == 401);
  CHECK(a.check("Bearer ").status == 401);
  CHECK(a.check("Bearer secret-key-1").subject.find("secret-key-1") == std::string::npos);

  AuthOptions none;
  CHECK_THROWS_AS(Authenticator{none}, sgp::Error);  // auth on, nothing to check against
  AuthOptions shorty;
  shorty.api_keys = {"abc"};
  CHECK_THROWS_AS(Authenticator{shorty}, sgp::Error);
  AuthOptions off;
  off.enabled = false;
  CHECK(Authenticator(off).check("").status == 200);
}

TEST_CASE("JWT HS256: signature, expiry and audience") {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  AuthOptions o;
  o.jwt.hs256_secret = secret;
  o.jwt.audience = "sgp";
  Authenticator a(o);
  auto good = a.check("Bearer " + make_jwt(JWT_ALG_HS256, secret, 3600, "sgp"));
  CHECK(good.status == 200);
  CHECK(good.subject == "jwt:alice");
  CHECK(a.check("Bearer " + make_jwt(JWT_ALG_HS256, secret, -60, "sgp")).status == 401);  // expired
  CHECK(a.check("Bearer " + make_jwt(JWT_ALG_HS256, secret, 3600, "other")).status == 403);
  CHECK(
      a.check("Bearer " + make_jwt(JWT_ALG_HS256, "another-secret-of-32-bytes-long!", 3600, "sgp"))
          .status == 401);
  std::string tok = make_jwt(JWT_ALG_HS256, secret, 3600, "sgp");
  std::string tampered = tok;
  tampered[tok.find('.') + 2] ^= 1;  // payload changed, signature kept
  CHECK(a.check("Bearer " + tampered).status == 401);
  // alg "none": header {"alg":"none"} with the same payload and no signature.
  std::string payload = tok.substr(tok.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  CHECK(a.check("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + ".").status == 401);
  CHECK(a.check("Bearer not.a.jwt").status == 401);
}

TEST_CASE("JWT RS256, and an HS256 token keyed with the public key is refused") {
  auto dir = std::filesystem::temp_directory_path() / ("sgp-jwt-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string priv = (dir / "k.pem").string(), pub = (dir / "k.pub").string();
  if (std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + priv +
                   " 2>/dev/null && openssl rsa -in " + priv + " -pubout -out " + pub +
                   " 2>/dev/null")
                      .c_str()) != 0) {
    MESSAGE("openssl unavailable: RS256 case skipped");
    return;
  }
  AuthOptions o;
  o.jwt.rs256_pubkey = read_file(pub);
  Authenticator a(o);
  CHECK(a.check("Bearer " + make_jwt(JWT_ALG_RS256, read_file(priv), 3600)).status == 200);
  // The classic confusion: HMAC over the token with the public key text as the secret.
  CHECK(a.check("Bearer " + make_jwt(JWT_ALG_HS256, o.jwt.rs256_pubkey, 3600)).status == 401);
  std::filesystem::remove_all(dir);
}

TEST_CASE("metrics render as Prometheus text with cumulative histograms") {
  Metrics m;
  m.request_done("/v1/completions", 200, 0.02);
  m.request_done("/v1/completions", 200, 3.0);
  m.request_done("/v1/completions", 429, 0.001);
  m.tokens(10, 4, 7);
  sgp::engine::EngineStats s;
  s.pages_total = 100;
  s.pages_in_use = 3;
  std::string text = m.render(s);
  CHECK(text.find("sgp_http_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("sgp_http_requests_total{endpoint=\"/v1/completions\",status=\"429\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("sgp_http_request_duration_seconds_bucket{endpoint=\"/v1/"
                  "completions\",le=\"0.025\"} 2\n") != std::string::npos);
  CHECK(text.find("sgp_http_request_duration_seconds_bucket{endpoint=\"/v1/"
                  "completions\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("sgp_http_request_duration_seconds_count{endpoint=\"/v1/completions\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("sgp_cache_hit_rate 0.4\n") != std::string::npos);
  CHECK(text.find("sgp_kv_pages_used 3\n") != std::string::npos);
  CHECK(text.find("sgp_kv_pages_total 100\n") != std::string::npos);
  CHECK(text.find("sgp_generation_tokens_total 7\n") != std::string::npos);
}

TEST_CASE("access log lines are one JSON object each, request id included") {
  AccessRecord r;
  r.request_id = "abc";
  r.method = "POST";
  r.path = "/v1/completions";
  r.status = 200;
  r.error = std::string("bad \xff byte");
  std::string line = access_log_line(r);
  CHECK(line.find('\n') == std::string::npos);
  auto j = Json::parse(line);
  CHECK(j["request_id"] == "abc");
  CHECK(j["status"] == 200);
  CHECK(j["path"] == "/v1/completions");
}
