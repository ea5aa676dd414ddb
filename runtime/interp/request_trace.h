// RequestTrace: a JSON-lines log of every engine request a run makes (--trace FILE).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace sgp::interp {

class RequestTrace {
 public:
  explicit RequestTrace(const std::string& path);  // throws sgp::Error if it can't be written
  // Seconds since the trace was opened (timestamps of the events).
  double now() const;
  void write(const nlohmann::ordered_json& event);

 private:
  std::mutex mu_;
  std::ofstream out_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sgp::interp
