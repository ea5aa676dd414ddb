// Engine: continuous batching of generate/score requests over one Backend, with a radix cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/request.h"
#include "model/backend.h"
#include "tokenizer/tokenizer.h"

namespace sgp::engine {

struct EngineOptions {
  size_t kv_memory_bytes = 256u << 20;  // KV page pool budget
  int max_step_tokens = 512;            // per-step token budget (chunked prefill)
  int max_running = 64;                 // sequences decoded together
  bool radix_cache = true;              // off: every request prefills from scratch
  uint64_t default_seed = 0;
};

struct EngineStats {
  uint64_t steps = 0;
  uint64_t forward_tokens = 0;  // tokens run through the model (prefill + decode)
  uint64_t prefill_tokens = 0;  // prompt tokens computed
  uint64_t cached_tokens = 0;   // prompt tokens served from the radix cache
  uint64_t decode_tokens = 0;
  uint64_t max_batch_seqs = 0;  // largest number of sequences in one step
  uint64_t preemptions = 0;
  int pages_total = 0;
  int pages_free = 0;    // free or evictable
  int pages_in_use = 0;  // referenced by running requests or locked cache nodes
  uint64_t requests_done = 0;
};

// Thread-safe. Runs its own loop thread; callbacks are invoked on that thread, so callers
// post results back to their own executor (the runtime does this for Asio).
class Engine {
 public:
  Engine(std::unique_ptr<model::Backend> backend, std::shared_ptr<model::Tokenizer> tokenizer,
         EngineOptions options = {});
  ~Engine();  // cancels what is pending, joins the loop thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  RequestId submit(GenerateRequest request);
  RequestId submit(ScoreRequest request);
  void cancel(RequestId id);  // on_done still fires, with FinishReason::Cancelled

  const model::Tokenizer& tokenizer() const;
  const model::ModelConfig& config() const;
  EngineStats stats() const;
  void clear_cache();  // drops every unreferenced radix node

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgp::engine
