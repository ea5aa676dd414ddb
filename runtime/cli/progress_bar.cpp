// ProgressBar: rate and ETA from the elapsed time since the batch started.
#include "cli/progress_bar.h"

#include <cmath>

namespace sgp::cli {

ProgressBar::ProgressBar(size_t total, bool terminal, std::FILE* out)
    : total_(total),
      terminal_(terminal),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

static std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

std::string ProgressBar::line(size_t done, size_t total, size_t failed, double seconds, int width) {
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  double eta = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
  std::string out = std::to_string(done) + "/" + std::to_string(total);
  if (width > 0) {
    int filled = total ? static_cast<int>(static_cast<double>(width) * static_cast<double>(done) /
                                          static_cast<double>(total))
                       : width;
    out += " [" + std::string(static_cast<size_t>(filled), '=') +
           std::string(static_cast<size_t>(width - filled), ' ') + "]";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.2f/s", rate);
  out += buf;
  out += done < total ? " ETA " + clock_text(eta) : " in " + clock_text(seconds);
  if (failed) out += ", " + std::to_string(failed) + " failed";
  return out;
}

void ProgressBar::draw(size_t done, size_t failed, bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (terminal_) {
    std::fprintf(out_, "\r\033[K%s%s", line(done, total_, failed, secs, 30).c_str(),
                 final ? "\n" : "");
  } else {
    std::fprintf(out_, "progress: %s\n", line(done, total_, failed, secs, 0).c_str());
  }
  std::fflush(out_);
}

void ProgressBar::update(size_t done, size_t failed) {
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  if (since < (terminal_ ? 0.1 : 5.0) || done == last_done_) return;
  last_ = now;
  last_done_ = done;
  draw(done, failed, false);
}

void ProgressBar::finish(size_t done, size_t failed) {
  draw(done, failed, true);
}

}  // namespace sgp::cli
