// ProgressBar: batch progress on stderr — a redrawn bar on a terminal, plain lines otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace sgp::cli {

class ProgressBar {
 public:
  ProgressBar(size_t total, bool terminal, std::FILE* out = stderr);
  void update(size_t done, size_t failed);  // redraws at most every 100 ms (tty) / 5 s (plain)
  void finish(size_t done, size_t failed);

  // "12/100 [====      ] 3.1/s ETA 0:27, 1 failed" (width: bar characters).
  static std::string line(size_t done, size_t total, size_t failed, double seconds, int width);

 private:
  void draw(size_t done, size_t failed, bool final);
  size_t total_;
  bool terminal_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_;
  size_t last_done_ = 0;
};

}  // namespace sgp::cli
