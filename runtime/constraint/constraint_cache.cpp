// ConstraintCache: LRU map of shared futures so equal requests share one build.
#include "constraint/constraint_cache.h"

namespace sgp::constraint {

ConstraintCache& ConstraintCache::instance() {
  static ConstraintCache cache;
  return cache;
}

std::shared_ptr<const TokenAutomaton> ConstraintCache::get(const std::string& regex,
                                                           uint64_t vocab_fingerprint,
                                                           const Builder& build) {
  Key key{regex, vocab_fingerprint};
  std::promise<std::shared_ptr<const TokenAutomaton>> promise;
  Future future;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      future = it->second.value;
    } else {
      ++misses_;
      ticket = ++next_ticket_;
      future = promise.get_future().share();
      lru_.push_front(key);
      entries_.emplace(key, Entry{future, lru_.begin(), ticket});
      while (entries_.size() > capacity_) {
        entries_.erase(lru_.back());
        lru_.pop_back();
      }
    }
  }
  if (ticket != 0) {
    try {
      promise.set_value(build());
    } catch (...) {
      promise.set_exception(std::current_exception());
      std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.ticket == ticket) {
        lru_.erase(it->second.lru);
        entries_.erase(it);
      }
    }
  }
  return future.get();
}

void ConstraintCache::set_capacity(size_t entries) {
  std::lock_guard lock(mutex_);
  capacity_ = entries == 0 ? 1 : entries;
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

void ConstraintCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
}

size_t ConstraintCache::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

size_t ConstraintCache::misses() const {
  std::lock_guard lock(mutex_);
  return misses_;
}

}  // namespace sgp::constraint
