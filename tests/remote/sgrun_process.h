// SgrunProcess: test helpers that run the real `sgrun` — shell commands with captured output, and
// `sgrun serve` on a loopback port.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace sgp::test {

extern const std::string kSgrun;  // the sgrun binary of this build
extern const std::string kModel;  // the default model file (tests skip without it)

std::string slurp(const std::filesystem::path& p);
std::string quote(const std::string& s);  // for a POSIX shell

struct Ran {
  int code = -1;
  std::string out, err;
};
// Runs a shell command with stdout and stderr captured (files under the temp dir).
Ran sh(const std::string& cmd);

// `sgrun serve` with the default model on a loopback port (0: a free one, read from its
// "listening" log line); stopped (SIGTERM, then SIGKILL) by stop() or the destructor.
class SgrunServer {
 public:
  explicit SgrunServer(const std::string& key, int port = 0, int threads = 2);
  ~SgrunServer() { stop(); }
  SgrunServer(const SgrunServer&) = delete;
  SgrunServer& operator=(const SgrunServer&) = delete;
  void stop();
  void kill_now();  // SIGKILL: dies mid-request, as a crashed or unplugged server does
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return slurp(log_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_;
};

}  // namespace sgp::test
