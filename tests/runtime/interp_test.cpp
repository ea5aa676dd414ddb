// Interpreter semantics on a scripted model: values, builtins, state, gen/select, fork, spawn,
// externs, errors with .sgp stack traces, the step limit.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>

#include "compiler/compile.h"
#include "fake_model_client.h"
#include "interp/interpreter.h"
#include "interp/runtime_error.h"
#include "sgp/error.h"
#include "tokenizer/tokenizer.h"

using namespace sgp;
using interp::Value;

namespace {

struct Outcome {
  Value value;
  std::string error;
  std::string json() const { return interp::to_json_text(value); }
};

Outcome run(const std::string& src, std::shared_ptr<test::FakeModelClient> client = nullptr,
            interp::Map args = {}, interp::RunOptions opts = {}, interp::HostFunctions hosts = {}) {
  if (!client) client = std::make_shared<test::FakeModelClient>();
  compiler::CompileOptions co;
  co.require_main = true;
  auto cr = compiler::compile_source("test.sgp", src, co);
  REQUIRE_MESSAGE(cr.ok(), cr.format_diagnostics());
  auto program = std::make_shared<const graph::Program>(std::move(cr.program));
  interp::asio::io_context io;
  interp::Interpreter in(io.get_executor(), client, program, std::move(hosts));
  Outcome out;
  interp::asio::co_spawn(io, in.run_main(std::move(args), opts),
                         [&](std::exception_ptr e, Value v) {
                           if (e) {
                             try {
                               std::rethrow_exception(e);
                             } catch (const std::exception& x) {
                               out.error = x.what();
                             }
                           }
                           out.value = std::move(v);
                         });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("values, operators and builtins evaluate as documented") {
  auto o = run(R"(
fn main() {
  let xs = [3, 1, 2]
  let m = {"a": 1, "b": [1, 2]}
  m["c"] = 7
  xs[0] = 5
  return [len("héllo"), str(1.5), int("42"), float("2.5"), 7 // 2, -7 // 2, 7 % 3, -7 % 3, 1 / 2,
          "ab" + "cd", [1] + [2], sorted(xs), min(xs), max(4, 9), sum(xs), keys(m), m.c,
          split("a b  c"), split("a,b", ","), join(["x", 1], "-"), strip("  s "), upper("ab"),
          replace("aaa", "a", "b"), startswith("abc", "ab"), endswith("abc", "bc"),
          contains([1, 2], 2), contains("abc", "d"), find("abc", "c"), regex_match(r"\d+", "123"),
          regex_findall(r"\d", "a1b2"), json_parse("[1, null]"), json_dump({"k": true}),
          range(1, 7, 2), enumerate(["a"]), get(m, "zz", 0), slice("hello", 1, -1), type(1.0),
          abs(-3), round(2.6), "{1 + 1}{{x}}", 1 < 2 and 3, null or "d", not []]
}
)");
  REQUIRE(o.error == "");
  CHECK(
      o.json() ==
      R"([6,"1.5",42,2.5,3,-4,1,2,0.5,"abcd",[1,2],[1,2,5],1,9,8,["a","b","c"],7,["a","b","c"],["a","b"],"x-1","s","AB","bbb",true,true,true,false,2,true,["1","2"],[1,null],"{\"k\":true}",[1,3,5],[[0,"a"]],0,"ell","float",3,3,"2{x}",3,"d",true])");
}

TEST_CASE("lists and maps are values: a copy does not see later writes") {
  auto o = run(R"(
fn main() {
  let a = [1, 2]
  let b = a
  b[0] = 9
  let loops = []
  for x in "ab" { loops = loops + [x] }
  let i = 0
  while true { i = i + 1
    if i > 3 { break } }
  return [a, b, loops, i]
}
)");
  REQUIRE(o.error == "");
  CHECK(o.json() == R"([[1,2],[9,2],["a","b"],4])");
}

TEST_CASE("the state is the prompt: text, gen binds and appends, inline calls extend it") {
  auto client = std::make_shared<test::FakeModelClient>();
  client->reply = [](const std::string& p) {
    return p.size() > 20 ? std::string(" second\nX") : " first";
  };
  auto o = run(R"(
fn ask(q) {
  "Q: {q}\nA:"
  gen a(max_tokens: 20, stop: "\n")
  return a
}
fn main(topic) {
  let x = ask(topic)
  "\n"
  let y = ask("more")
  return [x, y, text(), len_tokens()]
}
)",
               client, [] {
                 interp::Map m;
                 m["topic"] = "cats";
                 return m;
               }());
  REQUIRE(o.error == "");
  const std::string state = "Q: cats\nA: first\nQ: more\nA: second";
  CHECK(o.json() == interp::to_json_text(Value(interp::List{" first", " second", state,
                                                            static_cast<int64_t>(state.size())})));
  auto seen = client->seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].prompt == "Q: cats\nA:");
  CHECK(seen[1].prompt == "Q: cats\nA: first\nQ: more\nA:");
  CHECK(seen[0].sampling.max_tokens == 20);
  CHECK(seen[0].sampling.stop == std::vector<std::string>{"\n"});
}

TEST_CASE("role blocks use the model's chat template; gen in assistant stops at its end marker") {
  auto client = std::make_shared<test::FakeModelClient>();
  auto o = run(R"(
fn main() {
  system { "Be brief." }
  user { "Hi" }
  assistant { gen r(max_tokens: 8) }
  return text()
}
)",
               client);
  REQUIRE(o.error == "");
  CHECK(o.value.as_str() ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n ok<|im_end|>\n");
  auto seen = client->seen();
  REQUIRE(seen.size() == 1);
  CHECK(std::find(seen[0].sampling.stop.begin(), seen[0].sampling.stop.end(), "<|im_end|>") !=
        seen[0].sampling.stop.end());
}

TEST_CASE("select picks by the normalization method and exposes the scores") {
  auto client = std::make_shared<test::FakeModelClient>();
  // In context " good" totals -2.5 (5 tokens, -0.5 each), " ok" -1.2 (3 tokens, -0.4 each);
  // without context (prefix "\n") " good" is far less likely, which unconditional rewards.
  client->logprob = [](const std::string& prompt, const std::string& c) {
    if (prompt == "\n") return c == " good" ? -3.0f : -1.0f;
    return c == " good" ? -2.5f : -1.2f;
  };
  auto o = run(R"(
fn main() {
  "Rate:"
  select a from [" good", " ok"]
  select b from [" good", " ok"] (method: "greedy")
  select c from [" good", " ok"] (method: "unconditional")
  return [a, b, c, a.logprobs, c.logprobs, text()]
}
)",
               client);
  REQUIRE(o.error == "");
  const auto& l = o.value.as_list();
  CHECK(l[0].as_str() == " ok");    // -0.4 per token beats -0.5
  CHECK(l[1].as_str() == " ok");    // its first token is the likelier one
  CHECK(l[2].as_str() == " good");  // (-2.5 + 3) / 5 = 0.1 beats (-1.2 + 1) / 3
  REQUIRE(l[3].as_list().size() == 2);
  CHECK(l[3].as_list()[0].as_number() == doctest::Approx(-0.5));
  CHECK(l[3].as_list()[1].as_number() == doctest::Approx(-0.4));
  CHECK(l[4].as_list()[0].as_number() == doctest::Approx(0.1));
  CHECK(l[5].as_str() == "Rate: ok ok good");
  auto seen = client->seen();
  REQUIRE(seen.size() == 4);  // unconditional scores twice
  CHECK(seen[0].choices == std::vector<std::string>{" good", " ok"});
  CHECK(seen[3].prompt == "\n");
}

TEST_CASE("fork: one value per branch in order, concurrent, shared prefix prefilled once") {
  auto client = std::make_shared<test::FakeModelClient>();
  client->batch_hint = 4;
  client->reply = [](const std::string& p) { return " <" + p.substr(p.size() - 2) + ">"; };
  auto o = run(R"(
fn main() {
  "Base.\n"
  let xs = fork t in ["a", "b", "c", "d"] {
    "Shared line.\n"
    "Item {t}:"
    gen g(max_tokens: 10)
    yield t + g
  }
  return [xs, text()]
}
)",
               client);
  REQUIRE(o.error == "");
  CHECK(o.json() == R"([["a <a:>","b <b:>","c <c:>","d <d:>"],"Base.\n"])");
  auto seen = client->seen();
  REQUIRE(seen.size() == 5);
  CHECK(seen[0].prompt == "Base.\nShared line.\n");  // the prefill of the shared prefix
  CHECK(seen[0].sampling.max_tokens <= 1);
  for (size_t i = 1; i < 5; ++i) CHECK(seen[i].prompt.rfind("Base.\nShared line.\nItem ", 0) == 0);
  CHECK(client->max_batch() == 4);  // all four branch gens were pending together
}

TEST_CASE("nested forks and spawn futures") {
  auto o = run(R"(
fn sq(x) { return x * x }
fn main() {
  let f = spawn sq(7)
  let grid = fork i in range(2) {
    let row = fork j in range(3) { yield i * 10 + j }
    yield row
  }
  return [f + 1, grid]
}
)");
  REQUIRE(o.error == "");
  CHECK(o.json() == "[50,[[0,1,2],[10,11,12]]]");
}

TEST_CASE("a failing fork branch fails the fork (no deadlock) with the branch's trace") {
  auto o = run(R"(
fn main() {
  let xs = fork i in range(4) {
    if i == 2 { yield [][5] }
    yield i
  }
  return xs
}
)");
  CHECK(o.error.find("list index 5 out of range") != std::string::npos);
  CHECK(o.error.find("test.sgp:4:") != std::string::npos);
}

TEST_CASE("runtime errors carry the .sgp stack trace, innermost first") {
  auto o = run(R"(
fn inner(x) {
  return x + "s"
}
fn outer(x) {
  let y = inner(x)
  return y
}
fn main() {
  return outer(1)
}
)");
  REQUIRE(o.error != "");
  auto a = o.error.find("unsupported operand types for +: int and str");
  auto b = o.error.find("test.sgp:3:");
  auto c = o.error.find("test.sgp:6:");
  auto d = o.error.find("test.sgp:10:");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK(d != std::string::npos);
  CHECK((b < c && c < d));
}

TEST_CASE("a runaway loop stops at the step limit") {
  interp::RunOptions opts;
  opts.max_steps = 5000;
  auto o = run("fn main() {\n  let i = 0\n  while true { i = i + 1 }\n}\n", nullptr, {}, opts);
  CHECK(o.error.find("step limit of 5000 exceeded") != std::string::npos);
  CHECK(o.error.find("test.sgp:3:") != std::string::npos);
}

TEST_CASE("externs: called with their arguments; a throwing host function is a clean error") {
  const std::string src = R"(
extern fn lookup(key, n)
fn main() {
  let v = lookup("k", 2)
  return v
}
)";
  std::vector<std::string> calls;
  interp::HostFunctions hosts;
  hosts["lookup"] = interp::make_sync_host_function([&](const interp::List& args) {
    calls.push_back(interp::to_json_text(Value(args)));
    return Value(interp::List{"found", args[1]});
  });
  auto o = run(src, nullptr, {}, {}, hosts);
  REQUIRE(o.error == "");
  CHECK(o.json() == R"(["found",2])");
  CHECK(calls == std::vector<std::string>{R"(["k",2])"});

  interp::HostFunctions bad;
  bad["lookup"] = interp::make_sync_host_function(
      [](const interp::List&) -> Value { throw std::runtime_error("database down"); });
  auto e = run(src, nullptr, {}, {}, bad);
  CHECK(e.error.find("extern lookup() failed: database down") != std::string::npos);
  CHECK(e.error.find("test.sgp:4:") != std::string::npos);

  auto unbound = run(src);
  CHECK(unbound.error.find("extern function 'lookup' is not bound") != std::string::npos);
}

TEST_CASE("main's arguments: defaults, missing and unknown names") {
  const std::string src = "fn main(a, b = 2) { return [a, b] }\n";
  interp::Map args;
  args["a"] = 1;
  CHECK(run(src, nullptr, args).json() == "[1,2]");
  CHECK(run(src).error.find("missing argument 'a'") != std::string::npos);
  args["zz"] = 1;
  CHECK(run(src, nullptr, args).error.find("main has no parameter 'zz'") != std::string::npos);
}

TEST_CASE("forks whose branches fail end with an error, never a hang") {
  SUBCASE("every branch fails") {
    auto o =
        run("fn main() {\n  let xs = fork i in range(4) {\n    yield 1 // (i - i)\n  }\n"
            "  return xs\n}\n");
    CHECK(o.error.find("division by zero") != std::string::npos);
    CHECK(o.error.find("test.sgp:3:") != std::string::npos);
  }
  SUBCASE("an inner fork's branch fails inside an outer branch") {
    auto o = run(R"(
fn main() {
  let grid = fork i in range(3) {
    let row = fork j in range(3) {
      if i == 1 and j == 2 { yield [][1] }
      yield j
    }
    yield row
  }
  return grid
}
)");
    CHECK(o.error.find("list index 1 out of range") != std::string::npos);
    CHECK(o.error.find("test.sgp:5:") != std::string::npos);
  }
  SUBCASE("a branch fails while the others wait on the model") {
    auto client = std::make_shared<test::FakeModelClient>();
    client->batch_hint = 3;  // the three gens are held back until all have arrived
    auto o = run(R"(
fn main() {
  "Start."
  let xs = fork i in range(4) {
    if i == 0 { yield missing_key({}) }
    gen g(max_tokens: 4)
    yield g
  }
  return xs
}
fn missing_key(m) { return m["nope"] }
)",
                 client);
    CHECK(o.error.find("test.sgp:11:") != std::string::npos);  // in missing_key
    CHECK(o.error.find("test.sgp:5:") != std::string::npos);   // called from the branch
    CHECK(client->seen().size() >= 3);  // the other branches' gens ran to the end
  }
  SUBCASE("a spawn that fails and is never awaited fails the run") {
    auto o = run("fn bad(z) { return 1 // z }\nfn main() {\n  let f = spawn bad(0)\n  return 5\n}\n");
    CHECK(o.error.find("division by zero") != std::string::npos);
  }
  SUBCASE("an empty fork joins at once") {
    auto o = run("fn main() {\n  let xs = fork i in [] { yield i }\n  return xs\n}\n");
    REQUIRE(o.error == "");
    CHECK(o.json() == "[]");
  }
}

TEST_CASE("LocalModelClient::detokenize keeps each token's bytes, as generated text does") {
  // A SentencePiece tokenizer: decode() drops the dummy-prefix space of the first token, so
  // decoding a state piecewise would lose spaces; detokenize must not.
  auto tok = model::Tokenizer::from_hf_folder(std::string(SGP_SOURCE_DIR) +
                                              "/tests/data/tokenizer/spm_legacy");
  REQUIRE(tok->decode_strips_leading_space());
  interp::LocalModelClient client(nullptr, tok, "spm");
  auto hello = client.tokenize("Hello", false);
  auto world = client.tokenize(" world", false);
  std::vector<int32_t> both = hello;
  both.insert(both.end(), world.begin(), world.end());
  CHECK(client.detokenize(both) == client.detokenize(hello) + client.detokenize(world));
  std::string w;
  for (int32_t id : world) w += tok->token_bytes(id);
  CHECK(client.detokenize(world) == w);
  CHECK(client.detokenize(world).find("world") != std::string::npos);
  CHECK(client.detokenize(world)[0] == ' ');  // the space decode() would drop
  // what the engine streams for these tokens after a prompt
  model::IncrementalDecoder dec(*tok);
  std::string streamed;
  for (int32_t id : both) streamed += dec.push(id);
  CHECK(client.detokenize(both) == streamed + dec.flush());
  CHECK_THROWS_AS(client.detokenize({tok->n_vocab() + 5}), Error);
}
