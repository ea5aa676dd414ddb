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
  // Constrained requests: text the constraint forces is appended without sampling and run in
  // one multi-token chunk. Off: every token is sampled (under the same mask).
  bool jump_forward = true;
  // On a backend that overlaps() (CUDA): the next step is planned and launched while the
  // device still runs this one, when nothing of this one is needed on the host first (see
  // Engine). Same tokens either way.
  bool overlap = true;
};

struct EngineStats {
  uint64_t steps = 0;           // model forwards
  uint64_t forward_tokens = 0;  // tokens run through the model (prefill + decode)
  uint64_t prefill_tokens = 0;  // tokens computed in prompt chunks (recomputes included)
  uint64_t cached_tokens = 0;   // prompt tokens served from the radix cache (first admission)
  uint64_t decode_tokens = 0;   // tokens computed one per step after being sampled
  uint64_t forced_tokens = 0;   // output tokens appended by jump-forward, not sampled
  uint64_t max_batch_seqs = 0;  // largest number of sequences in one step
  uint64_t preemptions = 0;     // sequences whose KV was dropped, to be recomputed later
  int pages_total = 0;
  int pages_free = 0;    // free or evictable
  int pages_in_use = 0;  // referenced by running requests or locked cache nodes
  uint64_t requests_done = 0;
  double forward_seconds = 0;     // wall time the host waits in the backend (the rest is host work)
  uint64_t overlapped_steps = 0;  // steps launched while the previous one still ran
};

// Thread-safe. Runs its own loop thread; callbacks are invoked on that thread, so callers
// post results back to their own executor (the runtime does this for Asio).
// Each step: take new requests and cancels, schedule (running sequences first, then waiting
// ones by longest cached prefix, under max_step_tokens; preempt the newest when pages run out),
// run one ragged forward, sample / score, finish what ended (caching its tokens in the radix
// tree), then call on_done. A prompt is cached as soon as it is prefilled, and a waiting
// request whose prefix another request is still prefilling waits for it instead of
// computing it twice.
// Jump-forward (EngineOptions::jump_forward): where a request's constraint forces text, it is
// appended without sampling — at the start together with the prompt, later re-tokenized with
// the just-sampled token (which has no KV yet, so nothing is rolled back) — and the run is
// computed as one multi-token chunk in the next step. Forced tokens get logprob 0.
// Overlap (EngineOptions::overlap, on a backend that overlaps()): when every token of step N is
// drawn on the device and nothing the host does with it shapes step N+1 (no constraint, no
// penalty, no score request), step N+1 is planned and launched before N's tokens come back:
// each decode's input is a placeholder the backend fills from N's draw on the device. Then N is
// collected and processed (stop strings, EOS, streaming). A request found finished at N had one
// row of N+1 computed for nothing; its result and KV are dropped. Any other step runs
// synchronously.
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
  void clear_cache();  // drops every unreferenced radix node (blocks until done)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgp::engine
