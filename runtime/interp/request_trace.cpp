// RequestTrace: one JSON object per line, flushed as written so a crash keeps the log.
#include "interp/request_trace.h"

#include "sgp/error.h"

namespace sgp::interp {

RequestTrace::RequestTrace(const std::string& path)
    : out_(path), start_(std::chrono::steady_clock::now()) {
  if (!out_) throw Error("cannot write trace file: " + path);
}

double RequestTrace::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void RequestTrace::write(const nlohmann::ordered_json& event) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  out_.flush();
}

}  // namespace sgp::interp
