// AccessLog: one JSON line per answered request on stderr (structured, for log shippers).
#pragma once

#include <cstdint>
#include <string>

namespace sgp::server {

struct AccessRecord {
  std::string request_id, method, path, remote, subject, error;
  int status = 0;
  double seconds = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  int prompt_tokens = 0, completion_tokens = 0;
  bool stream = false;
};

// The JSON line (no newline) — separate from writing so tests can read it.
std::string access_log_line(const AccessRecord& r);
void write_access_log(const AccessRecord& r);  // to stderr, one write per line

}  // namespace sgp::server
