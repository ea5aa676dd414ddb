// SgrunProcess: fork/exec of sgrun, its log, and waiting for its port.
#include "sgrun_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace sgp::test {

const std::string kSgrun = std::string(SGP_BINARY_DIR) + "/sgrun";
const std::string kModel = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

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

Ran sh(const std::string& cmd) {
  static int n = 0;
  fs::path dir = fs::temp_directory_path() / ("sgp_remote_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  // Appended, not `"o" + to_string(n)`: GCC 12 warns falsely (-Wrestrict) about the latter.
  std::string num = std::to_string(n++), o = "o", e = "e";
  fs::path out = dir / (o += num), err = dir / (e += num);
  int status = std::system((cmd + " >" + out.string() + " 2>" + err.string()).c_str());
  Ran r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

SgrunServer::SgrunServer(const std::string& key, int port, int threads) {
  static int n = 0;
  log_ = fs::temp_directory_path() /
         ("sgp_remote_serve_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".log");
  const std::string port_text = std::to_string(port), threads_text = std::to_string(threads);
  pid_ = fork();
  if (pid_ == 0) {
    FILE* f = std::freopen(log_.c_str(), "w", stderr);
    (void)f;
    execl(kSgrun.c_str(), "sgrun", "serve", "--host", "127.0.0.1", "--port", port_text.c_str(),
          "--api-key", key.c_str(), "--model", kModel.c_str(), "--threads", threads_text.c_str(),
          "--no-access-log", static_cast<char*>(nullptr));
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

void SgrunServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill_now();
}

void SgrunServer::kill_now() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace sgp::test
