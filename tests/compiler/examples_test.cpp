// Every example and stdlib file compiles; the examples' graphs match their golden JSON.
// Regenerate goldens after an intended change: UPDATE_GOLDENS=1 build/tests/compiler/test_compiler
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "compiler/graph_json.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using namespace sgp::compiler;

namespace {
std::vector<std::string> sgp_files(const std::string& dir, bool recursive) {
  std::vector<std::string> out;
  auto add = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && e.path().extension() == ".sgp")
      out.push_back(fs::relative(e.path(), ".").generic_string());
  };
  if (recursive)
    for (const auto& e : fs::recursive_directory_iterator(dir)) add(e);
  else
    for (const auto& e : fs::directory_iterator(dir)) add(e);
  std::sort(out.begin(), out.end());
  return out;
}

const char* kExamples[] = {
    "hello",        "chat",         "few_shot_select", "parallel_expand",  "tree_of_thought",
    "json_extract", "regex_fields", "react_agent",     "self_consistency", "repl_chat"};
}  // namespace

TEST_CASE("the ten example programs exist and compile with a main") {
  for (const char* name : kExamples) {
    std::string path = std::string("examples/") + name + ".sgp";
    CAPTURE(path);
    CompileOptions o = test::repo_options();
    o.require_main = true;
    CompileResult r = compile_file(path, o);
    CHECK_MESSAGE(r.ok(), r.format_diagnostics());
    CHECK(r.program.entry >= 0);
  }
}

TEST_CASE("every examples/ and stdlib/ file compiles") {
  auto files = sgp_files("examples", false);
  auto lib = sgp_files("stdlib", true);
  files.insert(files.end(), lib.begin(), lib.end());
  CHECK(files.size() >= 20);
  for (const std::string& f : files) {
    CAPTURE(f);
    CompileResult r = compile_file(f, test::repo_options());
    CHECK_MESSAGE(r.ok(), r.format_diagnostics());
  }
}

TEST_CASE("stdlib declares the six chat templates with all three roles") {
  for (const char* name : {"chatml", "llama3", "llama2", "mistral", "gemma", "phi3"}) {
    CAPTURE(name);
    CompileResult r = test::compile(std::string("use template \"") + name +
                                    "\"\nfn main() {\n  user { \"hi\" }\n}\n");
    REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
    CHECK(r.program.template_name == name);
    const auto& t = r.program.templates.at(name);
    for (const char* role : {"system", "user", "assistant"}) CHECK(t.roles.count(role) == 1);
    CHECK_FALSE(t.stop.empty());
  }
}

TEST_CASE("example graphs match the golden JSON") {
  bool update = std::getenv("UPDATE_GOLDENS") != nullptr;
  for (const char* name : kExamples) {
    std::string path = std::string("examples/") + name + ".sgp";
    std::string golden = std::string("tests/data/compiler/graphs/") + name + ".json";
    CAPTURE(path);
    CompileResult r = compile_file(path, test::repo_options());
    REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
    std::string actual = sgp::graph::to_json(r.program).dump(1) + "\n";
    if (update) {
      fs::create_directories(fs::path(golden).parent_path());
      std::ofstream(golden, std::ios::binary) << actual;
      continue;
    }
    std::string expected;
    REQUIRE_MESSAGE(read_file(golden, expected),
                    "missing golden " << golden << " (run with UPDATE_GOLDENS=1)");
    CHECK_MESSAGE(actual == expected, "graph of " << path << " differs from " << golden
                                                  << "; if intended, rerun with UPDATE_GOLDENS=1");
  }
}

TEST_CASE("several threads can compile at once (a server compiles requests concurrently)") {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        std::string path = std::string("examples/") + kExamples[(t * 3 + i) % 10] + ".sgp";
        if (compile_file(path, test::repo_options()).ok()) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(ok == 12);
}
