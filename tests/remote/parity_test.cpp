// The example programs through a real `sgrun serve` (the remote backend) and through a router over
// local + remote give the same greedy outputs as local runs; remote failures are clear errors.
// Skips (with a message) when the default model file is absent.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "sgrun_process.h"

namespace fs = std::filesystem;
using namespace sgp::test;

namespace {

const std::string kKey = "parity-test-key";

struct Example {
  std::string file, extra;
};

const std::vector<Example> kExamples = {
    {"examples/hello.sgp", ""},
    {"examples/chat.sgp", ""},
    {"examples/few_shot_select.sgp", ""},
    {"examples/parallel_expand.sgp", ""},
    {"examples/tree_of_thought.sgp", ""},
    {"examples/json_extract.sgp", ""},
    {"examples/regex_fields.sgp", ""},
    {"examples/react_agent.sgp",
     "--extern " + quote("search=echo '\"Dune is a 1965 novel by Frank Herbert.\"'")},
    {"examples/self_consistency.sgp", "n=3"},
    {"examples/repl_chat.sgp", ""},
};

std::string run_cmd(const Example& e, const std::string& backend) {
  std::string cmd = kSgrun + " run " + quote(std::string(SGP_SOURCE_DIR) + "/" + e.file) +
                    " --greedy --no-stream --threads 2 --model " + quote(kModel) + " " + e.extra;
  if (!backend.empty()) cmd += " --backend " + quote(backend) + " --api-key " + kKey;
  return cmd;
}

}  // namespace

SgrunServer& shared_server() {
  static SgrunServer server(kKey);
  return server;
}

bool have_model() {
  if (fs::exists(kModel)) return true;
  MESSAGE("skipped: no model at " << kModel);
  return false;
}

const std::string kHello = quote(std::string(SGP_SOURCE_DIR) + "/examples/hello.sgp");

// Local outputs, run once for both test cases.
const Ran& local_run(const Example& e) {
  static std::map<std::string, Ran> runs;
  auto it = runs.find(e.file);
  if (it == runs.end()) it = runs.emplace(e.file, sh(run_cmd(e, ""))).first;
  return it->second;
}

TEST_CASE("examples: local, remote and routed runs give identical greedy outputs") {
  if (!have_model()) return;
  SgrunServer& server = shared_server();
  REQUIRE_MESSAGE(server.port() > 0, "sgrun serve did not start:\n" << server.log());
  for (const Example& e : kExamples) {
    const Ran& local = local_run(e);
    INFO(e.file << "\nlocal stderr: " << local.err);
    REQUIRE(local.code == 0);
    REQUIRE(!local.out.empty());
    Ran remote = sh(run_cmd(e, server.url()));
    INFO("remote stderr: " << remote.err);
    CHECK(remote.code == 0);
    CHECK(remote.out == local.out);
    // A router over the local engine and the server: wherever each request lands, same result.
    Ran routed = sh(run_cmd(e, "cpu," + server.url()));
    INFO("routed stderr: " << routed.err);
    CHECK(routed.code == 0);
    CHECK(routed.out == local.out);
  }
}

// OpenAI mode keeps the program state as text and sends it whole to /v1/completions, where the
// server tokenizes it again; on these examples that gives the same tokens as the program's own
// pieces, so greedy outputs are the same. select goes through echoed prompt log-probabilities:
// the choice is the same, its scores are per byte rather than per token (docs/remote.md).
TEST_CASE("openai mode against sgrun serve: the examples give the local greedy outputs") {
  if (!have_model()) return;
  SgrunServer& server = shared_server();
  REQUIRE(server.port() > 0);
  for (const Example& e : kExamples) {
    const Ran& local = local_run(e);
    INFO(e.file << "\nlocal stderr: " << local.err);
    REQUIRE(local.code == 0);
    Ran oai = sh(run_cmd(e, "openai:" + server.url() + "/v1"));
    INFO("openai-mode stderr: " << oai.err);
    CHECK(oai.code == 0);
    if (e.file != "examples/few_shot_select.sgp") {
      CHECK(oai.out == local.out);
      continue;
    }
    auto want = nlohmann::json::parse(local.out, nullptr, false);
    auto got = nlohmann::json::parse(oai.out, nullptr, false);
    REQUIRE(got.is_object());
    CHECK(got["label"] == want["label"]);
    REQUIRE(got["scores"].size() == 2);
    // Log-probabilities of the two labels: negative, finite, and ranked as the local run's.
    for (const auto& sc : got["scores"]) CHECK(sc.get<double>() < 0);
    CHECK((got["scores"][0].get<double>() < got["scores"][1].get<double>()) ==
          (want["scores"][0].get<double>() < want["scores"][1].get<double>()));
  }
}

TEST_CASE("remote: a wrong key is a clear 401 error, exit 1") {
  if (!have_model()) return;
  SgrunServer& server = shared_server();
  REQUIRE(server.port() > 0);
  Ran r =
      sh(kSgrun + " run " + kHello + " --no-stream --backend " + server.url() + " --api-key wrong");
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("401") != std::string::npos);
  CHECK(r.err.find(server.url()) != std::string::npos);
}

// Last: it stops the shared server.
TEST_CASE("remote: a server that is gone is a clear connect error, exit 1") {
  if (!have_model()) return;
  SgrunServer& server = shared_server();
  REQUIRE(server.port() > 0);
  std::string url = server.url();
  server.stop();
  Ran r = sh(kSgrun + " run " + kHello + " --no-stream --backend " + url + " --api-key " + kKey);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot connect to " + url) != std::string::npos);
}
