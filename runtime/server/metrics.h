// Metrics: the server's counters, gauges and latency histograms, in Prometheus text format.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace sgp::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // `name`_bucket{le=...}, _sum and _count lines; `labels` like `endpoint="/v1/completions"`.
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Used from the server's io thread only (no locks).
class Metrics {
 public:
  void request_done(const std::string& endpoint, int status, double seconds);
  void tokens(int prompt, int cached, int completion);
  void first_token(double seconds) { ttft_.observe(seconds); }

  int connections = 0;         // open HTTP connections
  int in_flight = 0;           // HTTP requests being handled
  int gen_waiting = 0;         // engine requests submitted that have produced nothing yet
  int gen_running = 0;         // engine requests producing output
  uint64_t rejected_busy = 0;  // 429s
  uint64_t cancelled = 0;      // generations cancelled (disconnect, timeout, shutdown)

  std::string render(const engine::EngineStats& engine) const;

 private:
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, Histogram> latency_;                  // endpoint -> seconds
  Histogram ttft_{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  uint64_t prompt_tokens_ = 0, cached_tokens_ = 0, completion_tokens_ = 0;
};

}  // namespace sgp::server
