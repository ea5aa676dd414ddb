// sgrun check / graph / --help: exit codes, where output goes, and its format.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

struct Run {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `sgrun ARGS` from the repo root, capturing stdout and stderr separately.
Run sgrun(const std::string& args) {
  static int counter = 0;
  std::string base = std::filesystem::temp_directory_path().string() + "/sgp_cli_test_" +
                     std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string cmd =
      std::string(SGP_BINARY_DIR) + "/sgrun " + args + " >" + base + ".out 2>" + base + ".err";
  int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

}  // namespace

TEST_CASE("sgrun --help lists the commands; each command has its own help") {
  Run r = sgrun("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("check") != std::string::npos);
  CHECK(r.out.find("graph") != std::string::npos);
  Run c = sgrun("check --help");
  CHECK(c.code == 0);
  CHECK(c.out.find("FILE") != std::string::npos);
  CHECK(c.out.find("--main") != std::string::npos);
  Run g = sgrun("graph --help");
  CHECK(g.code == 0);
  CHECK(g.out.find("--format") != std::string::npos);
  CHECK(sgrun("").code != 0);            // a command is required
  CHECK(sgrun("frobnicate").code != 0);  // unknown command
}

TEST_CASE("sgrun check: exit 0 and silence when clean") {
  Run r = sgrun("check examples/hello.sgp");
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("sgrun check: exit 1 with every diagnostic on stderr") {
  Run r = sgrun("check tests/data/compiler/errors/gen_option_type.sgp");
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "tests/data/compiler/errors/gen_option_type.sgp:2:21: error: option 'max_tokens' expects "
        "an integer, found str\n"
        "  gen a(max_tokens: \"many\", ignore_eos: 1)\n"
        "                    ^\n"
        "tests/data/compiler/errors/gen_option_type.sgp:2:41: error: option 'ignore_eos' expects "
        "true or false, found int\n"
        "  gen a(max_tokens: \"many\", ignore_eos: 1)\n"
        "                                        ^\n"
        "2 errors\n");
  Run missing = sgrun("check tests/data/compiler/no_such_file.sgp");
  CHECK(missing.code == 1);
  CHECK(missing.err.find("cannot read") != std::string::npos);
  Run main = sgrun("check --main tests/data/compiler/errors/missing_main.sgp");
  CHECK(main.code == 1);
  CHECK(sgrun("check tests/data/compiler/errors/missing_main.sgp").code == 0);
}

TEST_CASE("sgrun graph: DOT by default, JSON on request") {
  Run dot = sgrun("graph examples/parallel_expand.sgp");
  CHECK(dot.code == 0);
  CHECK(dot.out.rfind("digraph sgp {", 0) == 0);
  CHECK(dot.out.find("fork topic in topics") != std::string::npos);

  Run js = sgrun("graph --format json examples/parallel_expand.sgp");
  REQUIRE(js.code == 0);
  nlohmann::json j = nlohmann::json::parse(js.out);
  CHECK(j["format"] == "sgp-graph");
  CHECK(j["functions"][0]["name"] == "main");
  bool has_fork = false;
  for (const auto& n : j["functions"][0]["nodes"]) has_fork = has_fork || n["kind"] == "fork";
  CHECK(has_fork);

  CHECK(sgrun("graph --format xml examples/hello.sgp").code != 0);
  Run bad = sgrun("graph tests/data/compiler/errors/unknown_name.sgp");
  CHECK(bad.code == 1);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("unknown name 'missing'") != std::string::npos);
}

TEST_CASE("sgrun graph -o writes the file") {
  std::string path = std::filesystem::temp_directory_path().string() + "/sgp_cli_graph_" +
                     std::to_string(::getpid()) + ".json";
  Run r = sgrun("graph examples/hello.sgp -f json -o " + path);
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(nlohmann::json::parse(slurp(path))["entry"] == 0);
  std::filesystem::remove(path);
}
