// Constraints that are only known at run time, through the interpreter on SmolLM2: a bad pattern
// or schema is a runtime error naming the problem and the .sgp line; a constraint that max_tokens
// cannot complete is an error, not a hang or a silently truncated value. Skipped without the model.
#include <doctest/doctest.h>

#include <filesystem>

#include "compiler/compile.h"
#include "interp/interpreter.h"
#include "interp/runtime_error.h"

using namespace sgp;

namespace {

const std::string kModel = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

std::shared_ptr<interp::LocalModelClient> shared_model() {
  static std::shared_ptr<interp::LocalModelClient> m = [] {
    interp::LoadOptions o;
    o.threads = 2;
    return interp::load_local_model(kModel, o);
  }();
  return m;
}

// main's JSON result, or {"error": formatted message with trace}.
nlohmann::ordered_json run(const std::string& source, interp::Map args) {
  compiler::CompileOptions co;
  co.require_main = true;
  auto r = compiler::compile_source("prog.sgp", source, co);
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  auto prog = std::make_shared<const graph::Program>(std::move(r.program));
  interp::asio::io_context io;
  interp::Interpreter in(io.get_executor(), shared_model(), prog);
  nlohmann::ordered_json out;
  interp::RunOptions o;
  o.greedy = true;
  interp::asio::co_spawn(
      io, in.run_main(std::move(args), o), [&out](std::exception_ptr e, interp::Value v) {
        if (!e) {
          out = interp::to_json(v);
          return;
        }
        try {
          std::rethrow_exception(e);
        } catch (const interp::RuntimeError& x) {
          out = {{"error", interp::format_runtime_error(x.message(), x.trace())}};
        } catch (const std::exception& x) {
          out = {{"error", x.what()}};
        }
      });
  io.run();
  return out;
}

interp::Map arg(const std::string& key, const std::string& value) {
  interp::Map m;
  m[key] = interp::Value(value);
  return m;
}

std::string error_of(const std::string& source, interp::Map args) {
  auto j = run(source, std::move(args));
  INFO(j.dump());
  REQUIRE((j.is_object() && j.contains("error")));
  return j["error"].get<std::string>();
}

}  // namespace

TEST_CASE("runtime constraints: bad computed patterns and schemas are clear runtime errors") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  const std::string regex_prog =
      "fn main(p) {\n  \"Answer: \"\n  gen a(regex: p, max_tokens: 8)\n  return a\n}\n";
  std::string e = error_of(regex_prog, arg("p", "[a-z]+(x"));
  CHECK(e.find("invalid regex at offset 6: missing ')'") != std::string::npos);
  CHECK(e.find("prog.sgp:3") != std::string::npos);
  // The same program with a good pattern runs and its output matches.
  auto ok = run(regex_prog, arg("p", "(yes|no)"));
  CHECK((ok == "yes" || ok == "no"));

  const std::string schema_prog =
      "fn main(t) {\n  \"JSON: \"\n  gen a(json: {\"type\": \"object\", \"properties\": {\"n\": "
      "{\"type\": t}}, \"required\": [\"n\"]}, max_tokens: 16)\n  return json_parse(a)\n}\n";
  e = error_of(schema_prog, arg("t", "integr"));
  CHECK(e.find("json schema at /properties/n/type: unknown type 'integr'") != std::string::npos);
  CHECK(e.find("prog.sgp:3") != std::string::npos);
  auto good = run(schema_prog, arg("t", "boolean"));
  CHECK(good["n"].is_boolean());
}

TEST_CASE("runtime constraints: one max_tokens cannot complete is an error, not a hang") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  // At least 40 letters: no 135M-model token is that long, so 3 tokens can never do.
  std::string e =
      error_of("fn main() {\n  gen a(regex: r\"[a-z]{40,}\", max_tokens: 3)\n  return a\n}\n",
               interp::Map());
  CHECK(e.find("max_tokens (3) ran out before the output could satisfy its constraint") !=
        std::string::npos);
  CHECK(e.find("prog.sgp:2") != std::string::npos);
  // An accepting state at the limit is fine: the output is returned.
  auto j = run("fn main() {\n  gen a(regex: r\"[a-z]+\", max_tokens: 3)\n  return a\n}\n",
               interp::Map());
  REQUIRE(j.is_string());
  CHECK(j.get<std::string>().find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos);
}
