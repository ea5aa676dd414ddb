// Scheduler: which sequences run in the next step and how many tokens each — continuous
// batching, longest-prefix-first admission, chunked prefill under a token budget, preemption.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "kv/radix_cache.h"
#include "model/forward_batch.h"

namespace sgp::engine {

struct SchedulerOptions {
  int max_step_tokens = 512;
  int max_running = 64;
  bool radix_cache = true;
};

// One sequence's share of a step: its next n_tokens pending tokens.
struct StepChunk {
  Sequence* seq = nullptr;
  int n_tokens = 0;
};

class Scheduler {
 public:
  Scheduler(kv::RadixCache& cache, SchedulerOptions options, kv::CopyPageFn copy);
  ~Scheduler();  // releases the KV of whatever is left

  void enqueue(std::unique_ptr<Sequence> seq);  // waits for admission
  void start(std::unique_ptr<Sequence> seq);    // runs from the next step (its KV is set up)

  // Plans the next step: running sequences first — decodes, then prefill chunks, each oldest
  // first — then waiting ones by longest cached prefix, all under max_step_tokens. When pages
  // run out the newest running sequences not yet in the step are preempted (their KV freed, to
  // be recomputed later), so every step makes progress. Sequences that cannot run even alone
  // are moved to `failed`.
  std::vector<StepChunk> schedule(std::vector<std::unique_ptr<Sequence>>& failed);

  // Caches the sequence's computed prompt so waiting requests sharing it can reuse it. Only
  // whole pages are cached while the sequence still writes (see RadixCache::insert).
  void cache_computed(Sequence& seq, bool finished);
  // Takes a sequence out (running or waiting), releasing its KV; its computed tokens are cached
  // first when `cache_it`.
  std::unique_ptr<Sequence> remove(Sequence* seq, bool cache_it);

  const std::vector<std::unique_ptr<Sequence>>& running() const { return running_; }
  const std::vector<std::unique_ptr<Sequence>>& waiting() const { return waiting_; }
  bool idle() const { return running_.empty() && waiting_.empty(); }
  uint64_t preemptions() const { return preemptions_; }
  uint64_t cached_tokens() const { return cached_tokens_; }

 private:
  void preempt(size_t index);
  bool should_defer(const Sequence& w, int matched) const;
  int admission_match(const Sequence& w) const;

  kv::RadixCache& cache_;
  SchedulerOptions options_;
  kv::CopyPageFn copy_;
  std::vector<std::unique_ptr<Sequence>> running_;  // admission order
  std::vector<std::unique_ptr<Sequence>> waiting_;
  uint64_t preemptions_ = 0;
  uint64_t cached_tokens_ = 0;
};

}  // namespace sgp::engine
