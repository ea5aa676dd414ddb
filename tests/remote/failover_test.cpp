// Failover between routed backends with real `sgrun serve` processes on loopback: a backend
// killed (SIGKILL) in the middle of a batch, and one that is down when sgrun starts. Programs
// finish with the outputs of a single-backend run, or fail clearly; nothing hangs.
// Skips (with a message) when the default model file is absent.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sgrun_process.h"

namespace fs = std::filesystem;
using namespace sgp::test;

namespace {

const std::string kKey = "failover-test-key";

bool have_model() {
  if (fs::exists(kModel)) return true;
  MESSAGE("skipped: no model at " << kModel);
  return false;
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("sgp_failover_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

// Three dependent requests per program (gen, select, gen) on one growing state.
const char* kProgram = R"(
fn main(topic) {
  "Write one short sentence about {topic}.\nSentence:"
  gen s(max_tokens: 20, stop: "\n")
  "\nIs that sentence about {topic}? Answer:"
  select ok from [" yes", " no"]
  "\nOne more word about {topic}:"
  gen w(max_tokens: 6, stop: "\n")
  return [s, ok, w]
}
)";

const std::vector<std::string> kTopics = {
    "the sea",    "a library", "mountains", "a robot",  "the moon",   "bread",
    "trains",     "winter",    "a garden",  "rivers",   "a city",     "music",
    "the desert", "a bridge",  "clouds",    "a castle", "the forest", "coffee",
    "a violin",   "islands",   "snow",      "a market", "birds",      "the sun"};

// line number -> output JSON text; `errors` collects the lines that failed.
std::map<int, std::string> records(const fs::path& file, std::vector<std::string>& errors) {
  std::map<int, std::string> out;
  std::istringstream in(slurp(file));
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("error"))
      errors.push_back(j["error"].dump());
    else
      out[j.value("line", -1)] = j["output"].dump();
  }
  return out;
}

size_t lines_in(const fs::path& file) {
  std::istringstream in(slurp(file));
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// A loopback port nothing listens on (bound, then closed).
int dead_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE(
    "failover: a backend killed mid-batch; every program ends with the single-backend output") {
  if (!have_model()) return;
  fs::path dir = temp_dir();
  fs::path prog = dir / "prog.sgp", in = dir / "in.jsonl";
  std::ofstream(prog) << kProgram;
  {
    std::ofstream f(in);
    for (const auto& t : kTopics) f << nlohmann::json{{"topic", t}}.dump() << "\n";
  }
  const std::string common = kSgrun + " run " + quote(prog.string()) + " --batch " +
                             quote(in.string()) + " --greedy --no-progress --parallel 8";
  // The reference: one local engine.
  fs::path ref_out = dir / "ref.jsonl";
  Ran ref =
      sh(common + " --out " + quote(ref_out.string()) + " --threads 2 --model " + quote(kModel));
  INFO("reference stderr: " << ref.err);
  REQUIRE(ref.code == 0);
  std::vector<std::string> ref_errors;
  auto want = records(ref_out, ref_errors);
  REQUIRE(want.size() == kTopics.size());

  SgrunServer a(kKey, 0, 1), b(kKey, 0, 1);
  REQUIRE_MESSAGE(a.port() > 0, a.log());
  REQUIRE_MESSAGE(b.port() > 0, b.log());
  fs::path out = dir / "routed.jsonl";
  // `timeout`: a hang fails the test (exit 124) instead of stalling ctest.
  auto run = std::async(std::launch::async, [&] {
    return sh("timeout 900 " + common + " --out " + quote(out.string()) + " --backend " + a.url() +
              "," + b.url() + " --api-key " + kKey);
  });
  // Kill b once the batch is under way: a few programs done, the others mid-flight.
  bool started = false;
  for (int i = 0; i < 6000 && !started; ++i) {
    if (run.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) break;
    started = lines_in(out) >= 2;
  }
  CHECK_MESSAGE(started, "the batch did not get under way before it ended");
  b.kill_now();
  Ran r = run.get();
  INFO("routed stderr: " << r.err);
  CHECK(r.code == 0);
  std::vector<std::string> errors;
  auto got = records(out, errors);
  CHECK(errors.empty());
  CHECK(got.size() == kTopics.size());
  for (const auto& [line, output] : want) {
    INFO("line " << line);
    CHECK(got[line] == output);
  }
  // It noticed, said so once, and named the backend.
  CHECK(r.err.find("backend") != std::string::npos);
  CHECK(r.err.find(b.url()) != std::string::npos);
  CHECK(r.err.find("is down") != std::string::npos);
}

TEST_CASE("failover: a backend down at start is left out (with a warning); all down is an error") {
  if (!have_model()) return;
  int port = dead_port();
  REQUIRE(port > 0);
  const std::string dead = "http://127.0.0.1:" + std::to_string(port);
  const std::string hello = quote(std::string(SGP_SOURCE_DIR) + "/examples/hello.sgp");
  Ran local =
      sh(kSgrun + " run " + hello + " --greedy --no-stream --threads 2 --model " + quote(kModel));
  REQUIRE(local.code == 0);
  SgrunServer a(kKey, 0, 2);
  REQUIRE_MESSAGE(a.port() > 0, a.log());
  Ran r = sh("timeout 300 " + kSgrun + " run " + hello + " --greedy --no-stream --backend " + dead +
             "," + a.url() + " --api-key " + kKey);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == local.out);
  CHECK(r.err.find("cannot connect to " + dead) != std::string::npos);
  CHECK(r.err.find("starting without this backend") != std::string::npos);
  a.stop();
  Ran none = sh("timeout 300 " + kSgrun + " run " + hello + " --no-stream --backend " + dead + "," +
                a.url() + " --api-key " + kKey);
  INFO(none.err);
  CHECK(none.code == 1);
  CHECK(none.err.find("none of the backends can be reached") != std::string::npos);
  CHECK(none.err.find(dead) != std::string::npos);
}
