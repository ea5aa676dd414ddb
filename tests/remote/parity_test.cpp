// The example programs through a real `sgrun serve` (the remote backend) and through a router over
// local + remote give the same greedy outputs as local runs; remote failures are clear errors.
// Skips (with a message) when the default model file is absent.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace {

const std::string kSgrun = std::string(SGP_BINARY_DIR) + "/sgrun";
const std::string kModel = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
const std::string kKey = "parity-test-key";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Ran {
  int code = -1;
  std::string out, err;
};

// Runs a shell command with stdout and stderr captured (files under the test's temp dir).
Ran sh(const std::string& cmd) {
  static int n = 0;
  fs::path dir = fs::temp_directory_path() / ("sgp_parity_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path out = dir / ("o" + std::to_string(n)), err = dir / ("e" + std::to_string(n++));
  int status = std::system((cmd + " >" + out.string() + " 2>" + err.string()).c_str());
  Ran r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// `sgrun serve` on a free loopback port (port 0; the port is read from its "listening" log line).
class Server {
 public:
  Server() {
    log_ = fs::temp_directory_path() / ("sgp_parity_serve_" + std::to_string(getpid()) + ".log");
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log_.c_str(), "w", stderr);
      (void)f;
      execl(kSgrun.c_str(), "sgrun", "serve", "--host", "127.0.0.1", "--port", "0", "--api-key",
            kKey.c_str(), "--model", kModel.c_str(), "--threads", "2", "--no-access-log",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 1200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::istringstream lines(slurp(log_));
      for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("msg", "") == "listening") port_ = j.value("port", 0);
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
    }
  }
  ~Server() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return slurp(log_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  fs::path log_;
};

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

Server& shared_server() {
  static Server server;
  return server;
}

bool have_model() {
  if (fs::exists(kModel)) return true;
  MESSAGE("skipped: no model at " << kModel);
  return false;
}

const std::string kHello = quote(std::string(SGP_SOURCE_DIR) + "/examples/hello.sgp");

TEST_CASE("examples: local, remote and routed runs give identical greedy outputs") {
  if (!have_model()) return;
  Server& server = shared_server();
  REQUIRE_MESSAGE(server.port() > 0, "sgrun serve did not start:\n" << server.log());
  for (const Example& e : kExamples) {
    Ran local = sh(run_cmd(e, ""));
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

TEST_CASE("remote: a wrong key is a clear 401 error, exit 1") {
  if (!have_model()) return;
  Server& server = shared_server();
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
  Server& server = shared_server();
  REQUIRE(server.port() > 0);
  std::string url = server.url();
  server.stop();
  Ran r = sh(kSgrun + " run " + kHello + " --no-stream --backend " + url + " --api-key " + kKey);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot connect to " + url) != std::string::npos);
}
