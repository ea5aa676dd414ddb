// CacheAwareRouter: the routing policy.
#include "remote/cache_aware_router.h"

#include <algorithm>

#include "sgp/error.h"

namespace sgp::remote {

CacheAwareRouter::CacheAwareRouter(size_t backends, RoutingOptions options) : options_(options) {
  if (backends == 0) throw Error("routing needs at least one backend");
  for (size_t i = 0; i < backends; ++i)
    backends_.push_back(Backend{PrefixRecord(options.block_tokens, options.max_blocks), 0});
}

size_t CacheAwareRouter::least_loaded(const std::vector<char>* eligible) {
  size_t n = backends_.size(), best = SIZE_MAX;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (next_ + k) % n;
    if (eligible && !(*eligible)[i]) continue;
    if (best == SIZE_MAX || backends_[i].in_flight < backends_[best].in_flight) best = i;
  }
  if (best == SIZE_MAX) throw Error("internal: no eligible backend to route to");
  next_ = best + 1;
  return best;
}

size_t CacheAwareRouter::route(const std::vector<int32_t>& prompt,
                               const std::vector<char>* eligible) {
  if (eligible && eligible->size() != backends_.size())
    throw Error("internal: eligibility flags do not match the backends");
  auto ok = [&](size_t i) { return !eligible || (*eligible)[i]; };
  size_t lo = SIZE_MAX, hi = 0;
  for (size_t i = 0; i < backends_.size(); ++i)
    if (ok(i)) lo = std::min(lo, backends_[i].in_flight), hi = std::max(hi, backends_[i].in_flight);
  bool uneven = hi - lo > static_cast<size_t>(std::max(0, options_.balance_abs)) &&
                static_cast<double>(hi) > options_.balance_rel * static_cast<double>(lo);
  size_t pick = SIZE_MAX, best_match = 0;
  if (!uneven) {
    for (size_t i = 0; i < backends_.size(); ++i) {
      if (!ok(i)) continue;
      size_t m = backends_[i].record.match(prompt);
      if (m > best_match ||
          (m == best_match && m > 0 && backends_[i].in_flight < backends_[pick].in_flight))
        pick = i, best_match = m;
    }
    if (best_match == 0 || static_cast<double>(best_match) <
                               options_.cache_threshold * static_cast<double>(prompt.size()))
      pick = SIZE_MAX;
  }
  if (pick == SIZE_MAX) pick = least_loaded(eligible);
  Backend& b = backends_[pick];
  b.record.insert(prompt);
  ++b.in_flight;
  return pick;
}

void CacheAwareRouter::finished(size_t backend, const std::vector<int32_t>& tokens) {
  Backend& b = backends_.at(backend);
  if (b.in_flight > 0) --b.in_flight;
  if (!tokens.empty()) b.record.insert(tokens);
}

}  // namespace sgp::remote
