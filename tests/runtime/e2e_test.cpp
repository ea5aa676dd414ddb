// End to end on the default model (SmolLM2): every example, concurrency, prefix sharing, REPL
// turns, the embedding hosts. Skips (with a message) when the model file is absent.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "compiler/compile.h"
#include "interp/interpreter.h"

using namespace sgp;
using interp::Value;
using Json = nlohmann::ordered_json;

namespace {

std::string model_path() {
  return std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}
bool have_model() {
  return std::filesystem::exists(model_path());
}

std::shared_ptr<interp::LocalModelClient> shared_model() {
  static std::shared_ptr<interp::LocalModelClient> m = [] {
    interp::LoadOptions o;
    o.threads = 2;
    return interp::load_local_model(model_path(), o);
  }();
  return m;
}

std::shared_ptr<const graph::Program> compile(const std::string& path) {
  compiler::CompileOptions co;
  co.require_main = true;
  auto r = compiler::compile_file(std::string(SGP_SOURCE_DIR) + "/" + path, co);
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  return std::make_shared<const graph::Program>(std::move(r.program));
}

// Runs main once per argument map, all at once on one io_context; returns JSON per run.
std::vector<Json> run_all(const std::shared_ptr<const graph::Program>& prog,
                          const std::vector<interp::Map>& args, interp::HostFunctions hosts = {}) {
  interp::asio::io_context io;
  interp::Interpreter in(io.get_executor(), shared_model(), prog, std::move(hosts));
  std::vector<Json> out(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    interp::RunOptions o;
    o.greedy = true;
    interp::asio::co_spawn(io, in.run_main(args[i], o), [&out, i](std::exception_ptr e, Value v) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          out[i] = {{"error", x.what()}};
        }
      } else {
        out[i] = interp::to_json(v);
      }
    });
  }
  io.run();
  return out;
}

Json run_one(const std::string& path, interp::Map args = {}, interp::HostFunctions hosts = {}) {
  Json j = run_all(compile(path), {args}, std::move(hosts))[0];
  INFO(path << " -> " << j.dump());
  REQUIRE(!(j.is_object() && j.contains("error") && j.size() == 1));
  return j;
}

std::string slurp_command(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

}  // namespace

TEST_CASE("every example runs end to end with the expected result shape") {
  if (!have_model()) {
    MESSAGE("default model missing: run `make model`");
    return;
  }
  SUBCASE("hello") {
    CHECK(run_one("examples/hello.sgp").is_string());
  }
  SUBCASE("chat") {
    Json j = run_one("examples/chat.sgp");
    REQUIRE(j.is_string());
    CHECK(!j.get<std::string>().empty());
  }
  SUBCASE("few_shot_select") {
    Json j = run_one("examples/few_shot_select.sgp");
    std::string label = j["label"];
    CHECK((label == "positive" || label == "negative"));
    CHECK(j["scores"].size() == 2);
  }
  SUBCASE("parallel_expand") {
    interp::Map a;
    a["topics"] = interp::List{"tea", "coffee", "milk", "juice"};
    Json j = run_one("examples/parallel_expand.sgp", a);
    REQUIRE(j.size() == 4);
    const char* want[] = {"tea", "coffee", "milk", "juice"};
    for (size_t i = 0; i < 4; ++i) {
      CHECK(j[i]["topic"] == want[i]);  // one value per branch, in branch order
      CHECK(j[i]["sentence"].is_string());
    }
  }
  SUBCASE("tree_of_thought") {
    // The best path: [first step, second step], both generated text.
    Json j = run_one("examples/tree_of_thought.sgp");
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 2);
    CHECK(j[0].is_string());
    CHECK(j[1].is_string());
  }
  SUBCASE("json_extract") {
    Json j = run_one("examples/json_extract.sgp");
    REQUIRE(j.is_object());
    CHECK(j["name"].is_string());
    CHECK(j["age"].is_number_integer());
    CHECK(j["city"].is_string());
  }
  SUBCASE("regex_fields") {
    Json j = run_one("examples/regex_fields.sgp");
    CHECK(j["valid"] == true);
    CHECK(std::regex_match(j["date"].get<std::string>(), std::regex(R"(\d{4}-\d{2}-\d{2})")));
    std::string phone = j["phone"];
    CHECK(phone.size() >= 10);
  }
  SUBCASE("react_agent") {
    // The tool must get exactly the query the model wrote between the brackets of its
    // `search[...]` action (stripped), once per search action, in order: the state's text shows
    // what the model wrote.
    auto prog = compile("examples/react_agent.sgp");
    std::vector<Json> calls;
    interp::HostFunctions hosts;
    hosts["search"] = interp::make_sync_host_function([&](const interp::List& args) {
      calls.push_back(interp::to_json(Value(args)));
      return Value("Dune is a 1965 science-fiction novel by the American author Frank Herbert.");
    });
    interp::asio::io_context io;
    interp::Interpreter in(io.get_executor(), shared_model(), prog, hosts);
    interp::PromptState state = in.fresh_state();
    interp::RunOptions o;
    o.greedy = true;
    Json result;
    std::string error;
    interp::asio::co_spawn(
        io, in.run_function(prog->entry, {"Who wrote the novel Dune?"}, state, nullptr, o),
        [&](std::exception_ptr e, Value v) {
          if (!e) return void(result = interp::to_json(v));
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            error = x.what();
          }
        });
    io.run();
    INFO(state.text);
    REQUIRE(error == "");
    CHECK(result.is_string());
    std::vector<std::string> written;
    std::regex action(R"(Action \d+: search\[([^\]]*)\])");
    for (std::sregex_iterator it(state.text.begin(), state.text.end(), action), end; it != end;
         ++it)
      written.push_back((*it)[1].str());
    REQUIRE(!written.empty());  // the model searched at least once (greedy, this question)
    REQUIRE(calls.size() == written.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      REQUIRE(calls[i].size() == 1);  // search(query): one argument
      std::string q = written[i];
      q.erase(0, q.find_first_not_of(" \t\n"));
      q.erase(q.find_last_not_of(" \t\n") + 1);
      CHECK(calls[i][0] == q);
      CHECK(state.text.find("Observation " + std::to_string(i + 1) + ": Dune is a 1965") !=
            std::string::npos);  // the tool's result went back into the state
    }
  }
  SUBCASE("self_consistency") {
    Json j = run_one("examples/self_consistency.sgp");
    REQUIRE(j["votes"].size() == 5);  // fork 5: one answer per branch
    bool among = false;               // the majority answer is one of the votes
    for (const Json& v : j["votes"]) among = among || v == j["answer"];
    CHECK(among);
  }
  SUBCASE("repl_chat") {
    Json j = run_one("examples/repl_chat.sgp");
    REQUIRE(j.size() == 2);
    CHECK(j[0].is_string());
    CHECK(j[1].is_string());
  }
}

TEST_CASE("64 programs at once give the outputs they give one at a time, batched together") {
  if (!have_model()) return;
  auto prog = compile("examples/hello.sgp");
  std::vector<interp::Map> args(64);
  for (size_t i = 0; i < args.size(); ++i)
    args[i]["name"] = "friend number " + std::to_string(i % 8);
  std::vector<Json> alone;
  auto start = shared_model()->stats();
  for (size_t i = 0; i < 8; ++i) alone.push_back(run_all(prog, {args[i]})[0]);
  auto before = shared_model()->stats();
  uint64_t steps_alone = before.steps - start.steps;  // 8 programs, one after the other
  std::vector<Json> together = run_all(prog, args);
  auto after = shared_model()->stats();
  for (size_t i = 0; i < args.size(); ++i) CHECK(together[i] == alone[i % 8]);
  CHECK(after.max_batch_seqs >= 32);  // the engine ran many programs in one step
  // All 64 took fewer model steps than 8 of them one after the other: each step carried many
  // programs' tokens.
  uint64_t steps = after.steps - before.steps;
  MESSAGE("64 together: " << steps << " steps; 8 one at a time: " << steps_alone << " steps");
  CHECK(steps < steps_alone);
}

TEST_CASE("a fork of 8 branches prefills its shared prefix once") {
  if (!have_model()) return;
  shared_model()->engine().clear_cache();
  auto prog = compile("examples/parallel_expand.sgp");
  interp::Map a;
  a["topics"] = interp::List{"a", "b", "c", "d", "e", "f", "g", "h"};
  auto before = shared_model()->stats();
  Json j = run_all(prog, {a})[0];
  auto after = shared_model()->stats();
  REQUIRE(j.size() == 8);
  // The prefix is "Write one short ... drink.\n" (~13 tokens); each branch adds ~6 of its own.
  uint64_t prefix = shared_model()
                        ->tokenize("Write one short, factual sentence about each drink.\n", false)
                        .size();
  uint64_t prefilled = after.prefill_tokens - before.prefill_tokens;
  uint64_t cached = after.cached_tokens - before.cached_tokens;
  CHECK(cached >= 8 * prefix);             // every branch found the prefix in the cache
  CHECK(prefilled < 2 * prefix + 8 * 10);  // computed once, plus each branch's own few tokens
}

TEST_CASE("a fork of 8 whose body starts with shared text prefills that text once") {
  if (!have_model()) return;
  shared_model()->engine().clear_cache();
  // The body's leading text does not depend on the branch: it joins the shared prefix (the
  // compiler's Fork::prefix_nodes), computed once before the branches start.
  const std::string shared =
      "You are given a list of eight questions about the history of tea, coffee and cocoa, "
      "and you answer each of them with one short sentence of plain text.";
  const std::string src = "fn main() {\n  \"Notes.\\n\"\n  let xs = fork 8 {\n    \"" + shared +
                          "\\n\"\n    gen g(max_tokens: 3, temperature: 0)\n    yield g\n  }\n"
                          "  return xs\n}\n";
  compiler::CompileOptions co;
  co.require_main = true;
  auto r = compiler::compile_source("fork8.sgp", src, co);
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  auto prog = std::make_shared<const graph::Program>(std::move(r.program));
  const graph::Node* fork = nullptr;
  for (const auto& n : prog->functions.at(prog->entry).nodes)
    if (n.kind == graph::NodeKind::Fork) fork = &n;
  REQUIRE(fork);
  CHECK(!fork->prefix_nodes.empty());
  auto before = shared_model()->stats();
  Json j = run_all(prog, std::vector<interp::Map>(1))[0];
  auto after = shared_model()->stats();
  INFO(j.dump());
  REQUIRE(j.size() == 8);
  for (const Json& x : j) CHECK(x == j[0]);  // greedy: every branch saw the same prompt
  uint64_t prefix = shared_model()->tokenize("Notes.\n", false).size() +
                    shared_model()->tokenize(shared + "\n", false).size();
  uint64_t prefilled = after.prefill_tokens - before.prefill_tokens;
  uint64_t cached = after.cached_tokens - before.cached_tokens;
  MESSAGE("fork 8: shared prefix " << prefix << " tokens, prefilled " << prefilled << ", cached "
                                   << cached);
  CHECK(prefix > 30);
  CHECK(prefilled <= prefix + 8 * 2);  // once, plus at most a token or two per branch
  CHECK(cached >= 8 * (prefix - 1));   // each branch found the shared prefix cached
}

TEST_CASE("a 10-turn session prefills only each turn's new tokens") {
  if (!have_model()) return;
  compiler::Session session;
  auto def = session.add(
      "use template \"chatml\"\nfn turn(m) {\n  user { m }\n  assistant { gen r(max_tokens: 8, "
      "temperature: 0) }\n  return r\n}\n");
  REQUIRE_MESSAGE(def.ok, def.diagnostics);
  interp::PromptState state;
  std::vector<Value> globals;
  interp::asio::io_context io;
  for (int t = 0; t < 10; ++t) {
    auto sn = session.add("turn(\"Message number " + std::to_string(t) + ", please reply.\")\n");
    REQUIRE_MESSAGE(sn.ok, sn.diagnostics);
    auto prog = std::make_shared<const graph::Program>(session.program());
    globals.resize(prog->globals.size());
    interp::Interpreter in(io.get_executor(), shared_model(), prog);
    size_t old_len = state.tokens.size();
    size_t old_cached = state.cached;  // the last reply's end marker came after the last request
    auto before = shared_model()->stats();
    interp::asio::co_spawn(io, in.run_function(sn.function, {}, state, &globals, {}),
                           [](std::exception_ptr e, Value) { REQUIRE(!e); });
    io.run();
    io.restart();
    auto after = shared_model()->stats();
    // New tokens this turn: the user block and the assistant prefix (the reply is decoded).
    size_t new_prompt = state.tokens.size() - old_len;
    CHECK(after.prefill_tokens - before.prefill_tokens <= new_prompt + (old_len - old_cached) + 1);
    if (t > 0) CHECK(after.cached_tokens - before.cached_tokens + 1 >= old_cached);
    CHECK(old_len - old_cached <= 3);
  }
}

TEST_CASE("the embedding hosts (C++ and C API) run, including a host function that throws") {
  if (!have_model()) return;
  std::string bin = SGP_BINARY_DIR;
  std::string cpp = slurp_command(bin + "/examples/embed/sgp_embed_host 2>&1");
  INFO(cpp);
  auto j = Json::parse(cpp, nullptr, false);
  REQUIRE(!j.is_discarded());
  CHECK(j["result"]["weather"] == "sunny in Porto");
  CHECK(j["result"]["double"] == 42);
  CHECK(j["calls"] == Json::parse(R"([["Porto"]])"));
  CHECK(!j["streamed"].get<std::string>().empty());
  CHECK(j["streamed"] == j["result"]["summary"]);
  std::string thrown = j["throwing_host"];
  CHECK(thrown.find("extern explode() failed: host exploded") != std::string::npos);
  CHECK(thrown.find("embedded.sgp:9:") != std::string::npos);
  CHECK(j["awaited"]["weather"] == "sunny in Oslo");
  CHECK(j["cancel"].get<std::string>().find("cancelled") != std::string::npos);
  CHECK(j["compile_error"].get<std::string>().find("bad.sgp:1:") != std::string::npos);

  std::string c = slurp_command(bin + "/examples/embed/sgp_embed_c_host 2>&1");
  INFO(c);
  CHECK(c.find("result: [42,") != std::string::npos);
  CHECK(c.find("calls: 2") != std::string::npos);
  CHECK(c.find("failing host: runtime error: extern fail() failed: C host refused") !=
        std::string::npos);
  CHECK(c.find("bad args: sgp_run: arguments are not valid JSON") != std::string::npos);
}

TEST_CASE("sgrun run --batch: failing lines are recorded, malformed lines skipped, order kept") {
  if (!have_model()) return;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("sgp_batch_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "p.sgp") << "fn check(n) {\n  return 10 // n\n}\n"
                                  "fn main(n) {\n  \"Number {n}:\"\n  gen g(max_tokens: 3)\n"
                                  "  return check(n)\n}\n";
  std::ofstream(dir / "in.jsonl") << "{\"n\": 1}\n{\"n\": 0}\nnot json\n[1]\n\n{\"n\": 5}\n";
  std::string cmd = std::string(SGP_BINARY_DIR) + "/sgrun run " + (dir / "p.sgp").string() +
                    " --greedy --no-progress --batch " + (dir / "in.jsonl").string() + " --out " +
                    (dir / "out.jsonl").string() + " --parallel 3 2>&1";
  std::string log = slurp_command(cmd);
  INFO(log);
  CHECK(log.find("in.jsonl:3: skipped: malformed JSON") != std::string::npos);
  CHECK(log.find("in.jsonl:4: skipped: expected a JSON object") != std::string::npos);
  std::ifstream out(dir / "out.jsonl");
  std::vector<Json> rows;
  for (std::string l; std::getline(out, l);) rows.push_back(Json::parse(l));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["line"] == 1);
  CHECK(rows[0]["output"] == 10);
  CHECK(rows[1]["line"] == 2);
  std::string err = rows[1]["error"];
  CHECK(err.find("division by zero") != std::string::npos);
  CHECK(err.find("p.sgp:2:") != std::string::npos);  // in check()
  CHECK(err.find("p.sgp:7:") != std::string::npos);  // called from main
  CHECK(rows[2]["line"] == 6);
  CHECK(rows[2]["output"] == 2);
  fs::remove_all(dir);
}
