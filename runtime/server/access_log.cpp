// Access log lines as JSON.
#include "server/access_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace sgp::server {

std::string access_log_line(const AccessRecord& r) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[40];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  char full[64];
  std::snprintf(
      full, sizeof full, "%s.%03dZ", ts,
      static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000));
  nlohmann::ordered_json j = {
      {"ts", full},
      {"level", "info"},
      {"msg", "request"},
      {"request_id", r.request_id},
      {"method", r.method},
      {"path", r.path},
      {"status", r.status},
      {"duration_ms", static_cast<double>(static_cast<int64_t>(r.seconds * 1e4)) / 10},
      {"bytes_in", r.bytes_in},
      {"bytes_out", r.bytes_out},
      {"remote", r.remote}};
  if (!r.subject.empty()) j["subject"] = r.subject;
  if (r.stream) j["stream"] = true;
  if (r.prompt_tokens || r.completion_tokens) {
    j["prompt_tokens"] = r.prompt_tokens;
    j["completion_tokens"] = r.completion_tokens;
  }
  if (!r.error.empty()) j["error"] = r.error;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_access_log(const AccessRecord& r) {
  std::string line = access_log_line(r) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace sgp::server
