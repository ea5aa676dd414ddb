// ConstraintCache: the process-wide cache of token automata, keyed by pattern and vocabulary.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "constraint/token_automaton.h"

namespace sgp::constraint {

class ConstraintCache {
 public:
  using Builder = std::function<std::shared_ptr<const TokenAutomaton>()>;

  static ConstraintCache& instance();

  // The automaton for (regex, vocabulary fingerprint), building it with `build` on a miss.
  // Concurrent callers for the same key wait for one build; a failed build is not cached.
  std::shared_ptr<const TokenAutomaton> get(const std::string& regex, uint64_t vocab_fingerprint,
                                            const Builder& build);

  void set_capacity(size_t entries);
  void clear();
  size_t hits() const;
  size_t misses() const;

 private:
  using Key = std::pair<std::string, uint64_t>;
  using Future = std::shared_future<std::shared_ptr<const TokenAutomaton>>;
  struct Entry {
    Future value;
    std::list<Key>::iterator lru;
    uint64_t ticket;  // which build made it, so a failed build removes only its own entry
  };
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::list<Key> lru_;  // most recently used first
  size_t capacity_ = 64;
  size_t hits_ = 0;
  size_t misses_ = 0;
  uint64_t next_ticket_ = 0;
};

}  // namespace sgp::constraint
