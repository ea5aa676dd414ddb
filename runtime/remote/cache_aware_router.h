// CacheAwareRouter: picks the backend for a request — the one holding its longest prefix, unless
// that would leave the load too uneven.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "remote/prefix_record.h"

namespace sgp::remote {

struct RoutingOptions {
  // Route by prefix when the best backend already holds at least this share of the prompt.
  double cache_threshold = 0.5;
  // The load is too uneven (then the least busy backend wins) when the busiest has more than
  // balance_abs requests in flight beyond the least busy, and more than balance_rel times as many.
  int balance_abs = 8;
  double balance_rel = 2.0;
  int block_tokens = 4;                 // PrefixRecord granularity
  size_t max_blocks = size_t{1} << 18;  // per backend
  // A backend that failed is probed again after retry_initial_s, doubling up to retry_max_s
  // while it stays down (RoutingModelClient).
  double retry_initial_s = 0.5;
  double retry_max_s = 30;
};

// Not thread-safe (RoutingModelClient locks around it). A follow-up request of a program state
// extends the prompt + output recorded for it, so it goes back to the same backend.
class CacheAwareRouter {
 public:
  CacheAwareRouter(size_t backends, RoutingOptions options = {});

  // The backend for `prompt`; records it there and counts the request in flight. With
  // `eligible` (one flag per backend, at least one set), only those are considered.
  size_t route(const std::vector<int32_t>& prompt, const std::vector<char>* eligible = nullptr);
  // A request finished: `tokens` (prompt + output) are now cached on that backend.
  void finished(size_t backend, const std::vector<int32_t>& tokens);

  size_t in_flight(size_t backend) const { return backends_.at(backend).in_flight; }
  size_t match(size_t backend, const std::vector<int32_t>& prompt) const {
    return backends_.at(backend).record.match(prompt);
  }
  size_t size() const { return backends_.size(); }

 private:
  struct Backend {
    PrefixRecord record;
    size_t in_flight = 0;
  };
  size_t least_loaded(const std::vector<char>* eligible);
  RoutingOptions options_;
  std::vector<Backend> backends_;
  size_t next_ = 0;  // rotates ties among equally loaded backends
};

}  // namespace sgp::remote
