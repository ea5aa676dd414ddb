// Engine: continuous batching of generate/score requests over one Backend, with a radix cache.
#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "constraint/token_constraint.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"
#include "kv/page_allocator.h"
#include "kv/radix_cache.h"
#include "sgp/error.h"

namespace sgp::engine {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64: unseeded requests get distinct, reproducible seeds
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

template <class F, class... A>
void call_quietly(const F& f, A&&... args) {
  if (!f) return;
  try {
    f(std::forward<A>(args)...);
  } catch (...) {
    // A throwing callback must not take the engine loop down with it.
  }
}

}  // namespace

struct Engine::Impl {
  Impl(std::unique_ptr<model::Backend> b, std::shared_ptr<model::Tokenizer> t, EngineOptions o);
  ~Impl();

  // Thread side: the loop and one step.
  void loop();
  void step();
  // A launched step: its batch (alive until collected) and the sequence of each chunk (null
  // once the sequence ended before the step was collected).
  struct Flight {
    std::vector<Sequence*> seqs;
    std::vector<int> first_row;  // per chunk: its first logits row (-1: none)
    model::ForwardBatch batch;
    // Launched with overlap on, and nothing of it is needed on the host before the next step.
    bool overlappable = true;
  };
  Flight* launch(const std::vector<StepChunk>& chunks);
  void collect();  // the oldest flight
  void forget(const Sequence* seq);
  void fail_step(const std::vector<Sequence*>& seqs, const std::string& msg);
  bool overlap_safe(const Sequence& seq) const;
  void after_generate_draw(Sequence* seq, int row, const float* data, int32_t device_token);
  void intake();
  void finish_generate(Sequence* seq, FinishReason reason, std::string error = {});
  void fail_score(const std::shared_ptr<ScoreJob>& job, const std::string& error);
  void finish_score(const std::shared_ptr<ScoreJob>& job);
  void fail_sequence(std::unique_ptr<Sequence> seq, const std::string& error);
  // `device_token` >= 0: the backend already drew the token (row is then unused).
  // `logits_row`: the token's row in `logits` (where a device draw's logprobs are).
  void after_generate_logits(Sequence* seq, const float* row, int32_t device_token,
                             int logits_row = -1);
  bool device_samples(const Sequence& seq) const;
  void mask_draw(const Sequence& seq, model::RowSample& r) const;
  bool append_token(Sequence* seq, int32_t token, const TokenLogprob* lp);
  bool jump_forward(Sequence* seq, int32_t sampled, const TokenLogprob* lp);
  bool append_forced(Sequence* seq, const std::string& text);
  std::vector<int32_t> forced_run(const TokenConstraint& con, int32_t state,
                                  const std::string& text, bool& whole) const;
  void after_score_prefix(Sequence* seq);
  // Index of the continuation token that the logits at position `pos` predict, or -1 (a prefix
  // position, or one before logits_from).
  int scored_index(const Sequence& seq, int pos) const;
  // For each of the next n tokens of a continuation, the token its row predicts (-1: none).
  std::vector<int32_t> score_targets(const Sequence& seq, int n) const;
  void after_score_chunk(Sequence* seq, int first_pos, int n, int first_row,
                         const model::Logits& logits);
  void cancel_now(RequestId id);
  void publish_stats();
  RequestId post(std::unique_ptr<Sequence> seq);  // from a submitting thread
  std::string check_fits(int tokens) const;

  std::unique_ptr<model::Backend> backend;
  std::shared_ptr<model::Tokenizer> tokenizer;
  EngineOptions options;
  int page_size = 0;
  std::unique_ptr<kv::PageAllocator> pool;
  std::unique_ptr<kv::RadixCache> cache;
  std::unique_ptr<Scheduler> scheduler;
  std::deque<Flight> flights;  // launched, not collected: oldest first, at most two
  std::unordered_set<int32_t> eos_ids;
  model::Logits logits;
  EngineStats local;  // engine thread only
  int evictable = 0;  // cached pages no request holds, as last counted
  std::chrono::steady_clock::time_point evictable_at;
  // on_done calls of this round, made after the stats are published so a caller woken by one
  // sees counters that include its request.
  std::vector<std::function<void()>> completions;
  void complete(std::function<void()> f) { completions.push_back(std::move(f)); }
  void run_completions() {
    std::vector<std::function<void()>> now;
    now.swap(completions);
    for (auto& f : now) f();
  }
  uint64_t next_arrival = 0;

  // Shared with submitting threads.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::vector<std::unique_ptr<Sequence>> inbox;
  std::vector<RequestId> cancels;
  std::vector<std::promise<void>> clear_requests;
  EngineStats published;
  std::atomic<RequestId> next_id{1};
  std::thread thread;
};

Engine::Impl::Impl(std::unique_ptr<model::Backend> b, std::shared_ptr<model::Tokenizer> t,
                   EngineOptions o)
    : backend(std::move(b)), tokenizer(std::move(t)), options(o) {
  if (!backend) throw Error("engine: no model backend");
  if (!tokenizer) throw Error("engine: no tokenizer");
  page_size = backend->page_size();
  int n_pages = kv::PageAllocator::pages_for_budget(options.kv_memory_bytes, backend->page_bytes());
  if (page_size <= 0 || n_pages < 2)
    throw Error("engine: a KV budget of " + std::to_string(options.kv_memory_bytes) +
                " bytes holds fewer than 2 pages of " + std::to_string(backend->page_bytes()) +
                " bytes; raise the KV memory budget");
  backend->allocate_kv(n_pages);
  pool = std::make_unique<kv::PageAllocator>(n_pages);
  cache = std::make_unique<kv::RadixCache>(*pool, page_size);
  SchedulerOptions so;
  so.max_step_tokens = options.max_step_tokens;
  so.max_running = options.max_running;
  so.radix_cache = options.radix_cache;
  model::Backend* be = backend.get();
  scheduler = std::make_unique<Scheduler>(
      *cache, so, [be](int32_t src, int32_t dst, int n) { be->copy_page(src, dst, n); });
  eos_ids.insert(tokenizer->stop_ids().begin(), tokenizer->stop_ids().end());
  if (tokenizer->eos_id() >= 0) eos_ids.insert(tokenizer->eos_id());
  publish_stats();
  thread = std::thread([this] { loop(); });
}

Engine::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
  }
  cv.notify_all();
  if (thread.joinable()) thread.join();
}

std::string Engine::Impl::check_fits(int tokens) const {
  // One page more than the tokens need: a shared partial page may be held while its copy is used.
  int64_t need = (static_cast<int64_t>(tokens) + page_size - 1) / page_size + 1;
  if (need <= pool->n_pages()) return {};
  return "request needs up to " + std::to_string(need) + " KV pages (" + std::to_string(tokens) +
         " tokens) but the pool holds " + std::to_string(pool->n_pages()) +
         "; raise the KV memory budget or lower max_tokens";
}

void Engine::Impl::publish_stats() {
  // Counting evictable pages walks the whole radix tree: while busy, at most every 50 ms (the
  // figure is for metrics); exact whenever the engine goes idle.
  const auto now = std::chrono::steady_clock::now();
  if (scheduler->idle() || now - evictable_at >= std::chrono::milliseconds(50)) {
    evictable = cache->evictable_pages();
    evictable_at = now;
  }
  local.pages_total = pool->n_pages();
  local.pages_free = pool->n_free() + evictable;
  local.pages_in_use = local.pages_total - local.pages_free;
  local.preemptions = scheduler->preemptions();
  local.cached_tokens = scheduler->cached_tokens();
  std::lock_guard<std::mutex> lock(mu);
  published = local;
}

void Engine::Impl::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] {
        return stopping || !inbox.empty() || !cancels.empty() || !clear_requests.empty() ||
               !scheduler->idle() || !flights.empty();
      });
      if (stopping) break;
    }
    intake();
    if (!scheduler->idle() || !flights.empty()) step();
    publish_stats();
    run_completions();
  }
  // Shutting down: everything still pending ends as cancelled.
  while (!flights.empty()) collect();
  intake();
  std::vector<RequestId> ids;
  for (auto* list : {&scheduler->running(), &scheduler->waiting()})
    for (const auto& s : *list) ids.push_back(s->id);
  for (RequestId id : ids) cancel_now(id);
  publish_stats();
  run_completions();
}

void Engine::Impl::intake() {
  std::vector<std::unique_ptr<Sequence>> fresh;
  std::vector<RequestId> cancel_ids;
  std::vector<std::promise<void>> clears;
  {
    std::lock_guard<std::mutex> lock(mu);
    fresh.swap(inbox);
    cancel_ids.swap(cancels);
    clears.swap(clear_requests);
  }
  for (auto& seq : fresh) {
    seq->arrival = next_arrival++;
    std::string error;
    if (seq->kind == SeqKind::Generate) {
      const auto& sp = seq->gen->request.sampling;
      if (seq->tokens.empty())
        error = "generate: empty prompt";
      else if (sp.max_tokens < 0 || sp.min_tokens < 0)
        error = "generate: negative max/min tokens";
      else
        error = check_fits(seq->prompt_len + sp.max_tokens);
    } else {
      const ScoreRequest& r = seq->job->request;
      size_t longest = 0;
      for (const auto& c : r.continuations) longest = std::max(longest, c.size());
      if (r.prefix.empty())
        error = "score: empty prefix";
      else
        error = check_fits(static_cast<int>(r.prefix.size() + longest));
    }
    if (error.empty()) {
      for (int32_t t : seq->tokens)
        if (t < 0 || t >= backend->config().n_vocab) {
          error = "token id " + std::to_string(t) + " is outside the vocabulary (" +
                  std::to_string(backend->config().n_vocab) + ")";
          break;
        }
      if (seq->kind != SeqKind::Generate)
        for (const auto& c : seq->job->request.continuations)
          for (int32_t t : c)
            if (t < 0 || t >= backend->config().n_vocab) error = "score: token id out of range";
    }
    if (!error.empty()) {
      fail_sequence(std::move(seq), error);
      continue;
    }
    if (seq->kind == SeqKind::Generate && seq->gen->request.sampling.max_tokens == 0) {
      Sequence* raw = seq.get();
      scheduler->enqueue(std::move(seq));
      finish_generate(raw, FinishReason::Length);
      continue;
    }
    Sequence* raw = seq.get();
    scheduler->enqueue(std::move(seq));
    // Text forced before anything is sampled (a JSON object's opening) runs with the prompt.
    if (raw->kind == SeqKind::Generate && options.jump_forward) {
      const auto& con = raw->gen->request.sampling.constraint;
      if (con) append_forced(raw, con->forced_text(raw->gen->constraint_state));
    }
  }
  for (RequestId id : cancel_ids) cancel_now(id);
  if (!clears.empty()) cache->clear();
  for (auto& p : clears) p.set_value();
}

void Engine::Impl::fail_sequence(std::unique_ptr<Sequence> seq, const std::string& error) {
  if (seq->kind == SeqKind::Generate) {
    Sequence* raw = seq.get();
    scheduler->enqueue(std::move(seq));
    finish_generate(raw, FinishReason::Error, error);
  } else {
    cache->free(seq->kv);
    fail_score(seq->job, error);
  }
}

void Engine::Impl::cancel_now(RequestId id) {
  std::vector<Sequence*> hit;
  for (auto* list : {&scheduler->running(), &scheduler->waiting()})
    for (const auto& s : *list)
      if (s->id == id) hit.push_back(s.get());
  std::shared_ptr<ScoreJob> job;  // all of a score request's sequences go together
  for (Sequence* s : hit) {
    if (s->kind == SeqKind::Generate)
      finish_generate(s, FinishReason::Cancelled);
    else
      job = s->job;
  }
  if (job) fail_score(job, "cancelled");
}

void Engine::Impl::fail_score(const std::shared_ptr<ScoreJob>& job, const std::string& error) {
  if (job->done) return;
  job->done = true;
  // Drop the job's other sequences too.
  std::vector<Sequence*> rest;
  for (auto* list : {&scheduler->running(), &scheduler->waiting()})
    for (const auto& s : *list)
      if (s->job == job) rest.push_back(s.get());
  for (Sequence* s : rest) scheduler->remove(s, false);
  job->result.error = error;
  finish_score(job);
}

// With a step in flight that the host need not see first, the next one is planned and launched
// before it is collected, so the device goes on while the host processes its tokens.
void Engine::Impl::step() {
  Flight* fresh = nullptr;
  if (flights.empty() || flights.front().overlappable) {
    std::vector<std::unique_ptr<Sequence>> failed;
    std::vector<StepChunk> chunks = scheduler->schedule(failed);
    for (auto& f : failed)
      fail_sequence(std::move(f), "the request does not fit in the KV page pool");
    if (!chunks.empty()) fresh = launch(chunks);
  }
  while (!flights.empty() && &flights.front() != fresh) collect();
  if (fresh && !fresh->overlappable) collect();
  // A score prefix served whole by the cache has nothing to run: its continuations start now.
  std::vector<Sequence*> ready;
  for (const auto& s : scheduler->running())
    if (s->kind == SeqKind::ScorePrefix && s->pending() == 0) ready.push_back(s.get());
  for (Sequence* s : ready) after_score_prefix(s);
}

// A draw the host need not see before the sequence's next step: nothing in how that step is
// planned or sampled (constraint mask, jump-forward, penalties) depends on it.
bool Engine::Impl::overlap_safe(const Sequence& s) const {
  const SamplingParams& sp = s.gen->request.sampling;
  return !sp.constraint && sp.frequency_penalty == 0.0f && sp.presence_penalty == 0.0f &&
         sp.repetition_penalty == 1.0f;
}

// Ends every request of a step whose forward failed (null entries ended already).
void Engine::Impl::fail_step(const std::vector<Sequence*>& seqs, const std::string& msg) {
  std::vector<std::shared_ptr<ScoreJob>> jobs;
  for (Sequence* s : seqs) {
    if (!s) continue;
    if (s->kind == SeqKind::Generate)
      finish_generate(s, FinishReason::Error, msg);
    else
      jobs.push_back(s->job);
  }
  for (const auto& job : jobs) fail_score(job, msg);
}

void Engine::Impl::forget(const Sequence* seq) {
  for (Flight& f : flights)
    for (Sequence*& s : f.seqs)
      if (s == seq) s = nullptr;
}

Engine::Impl::Flight* Engine::Impl::launch(const std::vector<StepChunk>& chunks) {
  Flight& f = flights.emplace_back();
  const bool overlap = options.overlap && backend->overlaps();
  f.overlappable = overlap;
  model::ForwardBatch& batch = f.batch;
  batch.seqs.reserve(chunks.size());
  f.first_row.reserve(chunks.size());
  // Chunks whose draw gets a placeholder once the step is launched.
  std::vector<size_t> futures;
  int row = 0;
  for (const StepChunk& c : chunks) {
    Sequence* s = c.seq;
    model::SeqChunk sc;
    sc.tokens.assign(s->tokens.begin() + s->n_computed,
                     s->tokens.begin() + s->n_computed + c.n_tokens);
    sc.start_pos = s->n_computed;
    sc.pages = s->kv.pages;
    bool reaches_end = s->n_computed + c.n_tokens == static_cast<int>(s->tokens.size());
    // The last token was drawn by the step in flight: the backend reads it there.
    if (reaches_end && !s->future_rows.empty()) sc.input_from_prev_row = s->future_rows.back();
    bool independent = true;
    if (s->kind == SeqKind::Generate) {
      sc.logits = reaches_end ? model::LogitsMode::Last : model::LogitsMode::None;
      if (reaches_end && device_samples(*s)) {
        sc.sample_on_device = true;
        sc.sample = s->gen->sampler.device_draw();
        mask_draw(*s, sc.sample);
      }
      if (reaches_end) {
        independent = sc.sample_on_device && overlap_safe(*s);
        // A draw that ends the request whatever it is (max_tokens) needs no next step.
        if (independent && overlap && s->output_len() + 1 < s->gen->request.sampling.max_tokens)
          futures.push_back(batch.seqs.size());
      }
    } else if (s->kind == SeqKind::ScoreChoice) {
      independent = false;
      sc.logits = s->n_computed + c.n_tokens > s->logits_from ? model::LogitsMode::All
                                                              : model::LogitsMode::None;
      if (sc.logits == model::LogitsMode::All && backend->scores_on_device())
        sc.row_targets = score_targets(*s, c.n_tokens);
    } else {
      independent = false;
      sc.logits = model::LogitsMode::None;
    }
    f.overlappable = f.overlappable && independent;
    f.seqs.push_back(s);
    f.first_row.push_back(sc.logits == model::LogitsMode::None ? -1 : row);
    row += sc.logits == model::LogitsMode::All    ? c.n_tokens
           : sc.logits == model::LogitsMode::Last ? 1
                                                  : 0;
    batch.seqs.push_back(std::move(sc));
  }

  try {
    const auto t0 = std::chrono::steady_clock::now();
    backend->launch(batch);
    local.forward_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception& e) {
    std::vector<Sequence*> seqs = std::move(f.seqs);
    flights.pop_back();
    fail_step(seqs, std::string("model forward failed: ") + e.what());
    return nullptr;
  }

  ++local.steps;
  if (flights.size() > 1) ++local.overlapped_steps;
  local.max_batch_seqs = std::max<uint64_t>(local.max_batch_seqs, chunks.size());
  for (const StepChunk& c : chunks) {
    Sequence* s = c.seq;
    local.forward_tokens += static_cast<uint64_t>(c.n_tokens);
    if (s->decoding && c.n_tokens == 1)
      local.decode_tokens += 1;
    else
      local.prefill_tokens += static_cast<uint64_t>(c.n_tokens);
    s->n_computed += c.n_tokens;
    s->decoding = false;
  }
  // Only a step the next one may overlap needs placeholders: any other is collected first.
  if (!f.overlappable) futures.clear();
  for (size_t i : futures) {
    Sequence* s = chunks[i].seq;
    s->tokens.push_back(-1);
    s->future_rows.push_back(f.first_row[i]);
    s->decoding = true;
  }
  return &f;
}

void Engine::Impl::collect() {
  Flight& f = flights.front();
  try {
    const auto t0 = std::chrono::steady_clock::now();
    backend->collect(logits);
    local.forward_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception& e) {
    std::vector<Sequence*> seqs = f.seqs;
    flights.pop_front();
    fail_step(seqs, std::string("model forward failed: ") + e.what());
    return;
  }

  for (size_t i = 0; i < f.seqs.size(); ++i) {
    Sequence* s = f.seqs[i];
    if (!s) continue;  // ended while the step ran: its row is dropped
    const model::SeqChunk& sc = f.batch.seqs[i];
    const int n = static_cast<int>(sc.tokens.size());
    const int row = f.first_row[i];
    switch (s->kind) {
      case SeqKind::Generate:
        if (sc.logits == model::LogitsMode::Last) {
          const int32_t drawn = sc.sample_on_device ? logits.sampled.at(row) : -1;
          after_generate_draw(s, row, drawn >= 0 ? nullptr : logits.row(row), drawn);
        }
        break;
      case SeqKind::ScorePrefix:
        if (s->pending() == 0) after_score_prefix(s);
        break;
      case SeqKind::ScoreChoice:
        if (sc.logits == model::LogitsMode::All) after_score_chunk(s, sc.start_pos, n, row, logits);
        break;
    }
  }
  flights.pop_front();
}

// A generate row of the oldest flight. Where the token is the oldest placeholder (the sequence
// may be in the next step already), it takes its place; a request that ends here has its
// placeholders and their KV dropped.
void Engine::Impl::after_generate_draw(Sequence* s, int row, const float* data,
                                       int32_t device_token) {
  if (s->future_rows.empty()) {
    after_generate_logits(s, data, device_token, row);
    return;
  }
  if (s->future_rows.front() != row) {
    finish_generate(s, FinishReason::Error, "internal error: overlapped step out of order");
    return;
  }
  std::vector<int32_t> later(s->future_rows.begin() + 1, s->future_rows.end());
  const int computed = s->n_computed;
  s->tokens.resize(static_cast<size_t>(s->known()));
  s->future_rows.clear();
  // As if the token were processed before the next step was planned (what the radix cache and
  // the result see); the next step's KV is restored below if the request goes on.
  s->n_computed = std::min(computed, static_cast<int>(s->tokens.size()));
  const size_t known = s->tokens.size();
  after_generate_logits(s, data, device_token, row);
  if (s->finished) return;
  if (s->tokens.size() != known + 1) {  // overlap_safe() requests append one token per draw
    finish_generate(s, FinishReason::Error, "internal error: an overlapped draw added no token");
    return;
  }
  s->n_computed = computed;
  for (int32_t r : later) {
    s->tokens.push_back(-1);
    s->future_rows.push_back(r);
  }
  s->decoding = s->pending() == 1;
}

// A backend that samples on the device draws every generate row (penalties, constraint masks,
// top-k/top-p/min-p, logprobs up to RowSample::kMaxLogprobs): the host keeps the constraint's
// state, stop strings and jump-forward.
bool Engine::Impl::device_samples(const Sequence& s) const {
  return backend->samples_on_device() && s.gen &&
         s.gen->request.sampling.logprobs <= model::RowSample::kMaxLogprobs;
}

// The restrictions on a sequence's next token, for either sampler: the constraint's allowed set
// (with EOS and the stop ids while it accepts), and EOS and the stop ids banned before
// min_tokens.
void Engine::Impl::mask_draw(const Sequence& s, model::RowSample& r) const {
  const GenerateState& g = *s.gen;
  const SamplingParams& sp = g.request.sampling;
  // Stop tokens: EOS (unless ignored) ends with Eos, listed ids with Stop.
  std::vector<int32_t> enders;
  if (!sp.ignore_eos) enders.assign(eos_ids.begin(), eos_ids.end());
  enders.insert(enders.end(), sp.stop_token_ids.begin(), sp.stop_token_ids.end());
  if (const TokenConstraint* con = sp.constraint.get()) {
    r.allowed.assign((static_cast<size_t>(backend->config().n_vocab) + 63) / 64, 0);
    con->allowed_tokens(g.constraint_state, r.allowed);
    if (con->accepting(g.constraint_state)) r.also_allowed = enders;
  }
  // The token drawn from this step's logits is output token number output_len() + 1 - the
  // last prompt token has no output yet, so output_len() is 0 at the end of the prefill.
  if (s.output_len() < sp.min_tokens) r.banned = std::move(enders);
}

void Engine::Impl::after_generate_logits(Sequence* s, const float* row, int32_t device_token,
                                         int logits_row) {
  GenerateState& g = *s->gen;
  const SamplingParams& sp = g.request.sampling;
  if (!s->prompt_cached && s->n_computed >= s->prompt_len) {
    s->prompt_cached = true;
    scheduler->cache_computed(*s, false);
  }
  const TokenConstraint* con = sp.constraint.get();
  TokenLogprob lp;
  int32_t tok = device_token;
  if (tok >= 0 && sp.logprobs > 0 && logits_row >= 0 &&
      static_cast<size_t>(logits_row) < logits.sampled_logprob.size()) {
    lp.token = tok;
    lp.logprob = logits.sampled_logprob[static_cast<size_t>(logits_row)];
    lp.top = logits.sampled_top[static_cast<size_t>(logits_row)];
  }
  if (tok == -1) {  // not drawn on the device
    model::RowSample m;
    mask_draw(*s, m);
    TokenMask mask;
    if (!m.allowed.empty()) {
      mask.allowed = &m.allowed;
      mask.also_allowed = m.also_allowed;
    }
    mask.banned = m.banned;
    tok = g.sampler.sample(
        std::span<const float>(row, static_cast<size_t>(backend->config().n_vocab)), mask,
        sp.logprobs > 0 ? &lp : nullptr);
  }
  if (tok < 0) {
    finish_generate(s, FinishReason::Error, "the constraint allows no token here");
    return;
  }
  bool is_eos = !sp.ignore_eos && eos_ids.count(tok) > 0;
  bool is_stop_id =
      std::find(sp.stop_token_ids.begin(), sp.stop_token_ids.end(), tok) != sp.stop_token_ids.end();
  if (is_eos || is_stop_id) {
    finish_generate(s, is_stop_id ? FinishReason::Stop : FinishReason::Eos);
    return;
  }
  const TokenLogprob* lpp = sp.logprobs > 0 ? &lp : nullptr;
  if (con && options.jump_forward) {
    if (!jump_forward(s, tok, lpp)) return;
  } else if (!append_token(s, tok, lpp)) {
    return;
  }
  s->decoding = s->pending() == 1;
}

// The tokens of `text` (tokenized on its own) as far as the constraint accepts them from
// `state`; `whole` tells whether they spell all of it. A tokenizer that adds bytes of its own
// (a SentencePiece dummy space) yields nothing.
std::vector<int32_t> Engine::Impl::forced_run(const TokenConstraint& con, int32_t state,
                                              const std::string& text, bool& whole) const {
  std::vector<int32_t> toks = tokenizer->encode(text, false);
  std::string spelled;
  for (int32_t t : toks) spelled += tokenizer->token_bytes(t);
  whole = false;
  if (spelled != text) return {};
  size_t n = 0;
  for (; n < toks.size(); ++n) {
    state = con.next_state(state, toks[n]);
    if (state < 0) break;
  }
  whole = n == toks.size();
  toks.resize(n);
  return toks;
}

// Appends forced text without sampling (logprob 0); returns false when the request finished.
bool Engine::Impl::append_forced(Sequence* s, const std::string& text) {
  bool whole = false;
  for (int32_t t :
       forced_run(*s->gen->request.sampling.constraint, s->gen->constraint_state, text, whole)) {
    ++local.forced_tokens;
    if (!append_token(s, t, nullptr)) return false;
  }
  return true;
}

// Appends the sampled token and whatever text the constraint then forces. The sampled token
// has no KV yet (it runs next step), so it is re-tokenized together with the forced text at no
// cost: "a" + "\",\"b" may become the tokens "a\"," + "\"b" that the model would have seen for
// that text. The forced tokens run as one chunk in the next step. Returns false when the
// request finished.
bool Engine::Impl::jump_forward(Sequence* s, int32_t sampled, const TokenLogprob* lp) {
  GenerateState& g = *s->gen;
  const TokenConstraint& con = *g.request.sampling.constraint;
  const int32_t before = g.constraint_state;
  const int32_t after = con.next_state(before, sampled);
  std::string forced = after >= 0 && !con.finished(after) ? con.forced_text(after) : std::string();
  if (forced.empty()) return append_token(s, sampled, lp);
  const std::string& piece = tokenizer->token_bytes(sampled);
  // Only a token that starts a character and is plain text can be re-read as text.
  bool whole = false;
  std::vector<int32_t> run;
  if (!piece.empty() && (static_cast<unsigned char>(piece[0]) & 0xC0) != 0x80 &&
      !tokenizer->is_special(sampled))
    run = forced_run(con, before, piece + forced, whole);
  if (!whole || run.empty()) {  // keep the sampled token, force the rest on its own
    if (!append_token(s, sampled, lp)) return false;
    return append_forced(s, forced);
  }
  for (size_t i = 0; i < run.size(); ++i) {
    // The sampled token's logprob belongs to it only if re-tokenizing kept it.
    const TokenLogprob* l = i == 0 && run[0] == sampled ? lp : nullptr;
    if (i > 0) ++local.forced_tokens;
    if (!append_token(s, run[i], l)) return false;
  }
  return true;
}

// Adds one output token; returns false when the request finished with it.
bool Engine::Impl::append_token(Sequence* s, int32_t tok, const TokenLogprob* lp) {
  GenerateState& g = *s->gen;
  const SamplingParams& sp = g.request.sampling;
  s->tokens.push_back(tok);
  g.sampler.accept(tok);
  g.token_text_start.push_back(g.stops.text().size());
  if (sp.logprobs > 0) {
    TokenLogprob entry;
    if (lp) entry = *lp;
    entry.token = tok;
    g.logprobs.push_back(std::move(entry));
  }
  bool stopped = g.stops.push(g.decoder.push(tok));
  if (!stopped) {
    std::string ready = g.stops.take_ready();
    if (!ready.empty()) call_quietly(g.request.on_text, ready);
  }
  if (stopped) {
    finish_generate(s, FinishReason::Stop);
    return false;
  }
  if (const TokenConstraint* con = sp.constraint.get()) {
    int32_t next = con->next_state(g.constraint_state, tok);
    if (next < 0) {
      finish_generate(s, FinishReason::Error, "the constraint rejected a sampled token");
      return false;
    }
    g.constraint_state = next;
    if (con->finished(next)) {
      finish_generate(s, FinishReason::Stop);
      return false;
    }
  }
  if (s->output_len() >= sp.max_tokens) {
    // A constrained output cut short would not match: an error, not text that looks complete.
    const TokenConstraint* con = sp.constraint.get();
    if (con && !con->accepting(g.constraint_state)) {
      finish_generate(s, FinishReason::Error,
                      "max_tokens (" + std::to_string(sp.max_tokens) +
                          ") ran out before the output could satisfy its constraint");
    } else {
      finish_generate(s, FinishReason::Length);
    }
    return false;
  }
  return true;
}

void Engine::Impl::finish_generate(Sequence* s, FinishReason reason, std::string error) {
  GenerateState& g = *s->gen;
  // Still in a launched step: its row there is dropped, its placeholders never seen.
  forget(s);
  s->finished = true;
  if (!s->future_rows.empty()) {
    s->tokens.resize(static_cast<size_t>(s->known()));
    s->future_rows.clear();
    s->n_computed = std::min(s->n_computed, static_cast<int>(s->tokens.size()));
  }
  if (!g.stops.stopped()) g.stops.push(g.decoder.flush());
  std::string rest = g.stops.take_rest();
  if (!rest.empty() && reason != FinishReason::Error) call_quietly(g.request.on_text, rest);

  GenerateResult r;
  r.id = s->id;
  r.finish = reason;
  r.error = std::move(error);
  r.text = g.stops.text();
  r.prompt_tokens = s->prompt_len;
  r.cached_tokens = s->cached_at_admit;
  size_t keep = static_cast<size_t>(s->output_len());
  if (g.stops.stopped()) {  // drop the tokens that begin at or after the stop string
    keep = 0;
    while (keep < g.token_text_start.size() && g.token_text_start[keep] < r.text.size()) ++keep;
  }
  r.tokens.assign(s->tokens.begin() + s->prompt_len, s->tokens.begin() + s->prompt_len + keep);
  g.logprobs.resize(std::min(g.logprobs.size(), keep));
  r.logprobs = std::move(g.logprobs);

  std::shared_ptr<Sequence> own = scheduler->remove(s, reason != FinishReason::Error);
  ++local.requests_done;
  complete(
      [own, r = std::move(r)]() mutable { call_quietly(own->gen->request.on_done, std::move(r)); });
}

void Engine::Impl::finish_score(const std::shared_ptr<ScoreJob>& job) {
  job->done = true;
  ++local.requests_done;
  complete([job] { call_quietly(job->request.on_done, std::move(job->result)); });
}

void Engine::Impl::after_score_prefix(Sequence* s) {
  std::shared_ptr<ScoreJob> job = s->job;
  scheduler->cache_computed(*s, true);
  const auto& conts = job->request.continuations;
  const int plen = static_cast<int>(job->request.prefix.size());
  job->result.choices.assign(conts.size(), {});
  job->pending = 0;
  for (size_t c = 0; c < conts.size(); ++c) {
    if (conts[c].empty()) continue;
    auto child = std::make_unique<Sequence>();
    child->id = s->id;
    child->kind = SeqKind::ScoreChoice;
    child->arrival = s->arrival;
    child->job = job;
    child->choice = static_cast<int>(c);
    child->tokens = job->request.prefix;
    child->tokens.insert(child->tokens.end(), conts[c].begin(), conts[c].end() - 1);
    child->prompt_len = static_cast<int>(child->tokens.size());
    child->logits_from = plen - 1;
    child->n_computed =
        cache->fork(s->kv, plen - 1, child->kv,
                    [this](int32_t a, int32_t b, int n) { backend->copy_page(a, b, n); });
    child->admitted_once = true;
    job->result.choices[c].token_logprobs.assign(conts[c].size(), 0.0f);
    ++job->pending;
    scheduler->start(std::move(child));
  }
  scheduler->remove(s, false);
  if (job->pending == 0) finish_score(job);
}

int Engine::Impl::scored_index(const Sequence& s, int pos) const {
  const auto& cont = s.job->request.continuations[static_cast<size_t>(s.choice)];
  const int k = pos + 1 - static_cast<int>(s.job->request.prefix.size());
  return pos >= s.logits_from && k >= 0 && k < static_cast<int>(cont.size()) ? k : -1;
}

std::vector<int32_t> Engine::Impl::score_targets(const Sequence& s, int n) const {
  const auto& cont = s.job->request.continuations[static_cast<size_t>(s.choice)];
  std::vector<int32_t> t(static_cast<size_t>(n), -1);
  for (int j = 0; j < n; ++j)
    if (int k = scored_index(s, s.n_computed + j); k >= 0)
      t[static_cast<size_t>(j)] = cont[static_cast<size_t>(k)];
  return t;
}

void Engine::Impl::after_score_chunk(Sequence* s, int first_pos, int n, int first_row,
                                     const model::Logits& lg) {
  std::shared_ptr<ScoreJob> job = s->job;
  const auto& cont = job->request.continuations[static_cast<size_t>(s->choice)];
  auto& choice = job->result.choices[static_cast<size_t>(s->choice)];
  std::vector<float> lsm;
  for (int j = 0; j < n; ++j) {
    const int k = scored_index(*s, first_pos + j);  // the continuation token this row predicts
    if (k < 0) continue;
    const size_t row = static_cast<size_t>(first_row + j);
    if (row < lg.target_logprobs.size() && !std::isnan(lg.target_logprobs[row])) {
      choice.token_logprobs[static_cast<size_t>(k)] = lg.target_logprobs[row];
      continue;
    }
    log_softmax(std::span<const float>(lg.row(first_row + j), static_cast<size_t>(lg.n_vocab)),
                lsm);
    choice.token_logprobs[static_cast<size_t>(k)] =
        lsm[static_cast<size_t>(cont[static_cast<size_t>(k)])];
  }
  if (s->pending() > 0) return;
  choice.sum = 0.0f;
  for (float v : choice.token_logprobs) choice.sum += v;
  scheduler->remove(s, true);
  if (--job->pending == 0 && !job->done) finish_score(job);
}

RequestId Engine::Impl::post(std::unique_ptr<Sequence> seq) {
  RequestId id = seq->id;
  {
    std::lock_guard<std::mutex> lock(mu);
    inbox.push_back(std::move(seq));
  }
  cv.notify_all();
  return id;
}

Engine::Engine(std::unique_ptr<model::Backend> backend, std::shared_ptr<model::Tokenizer> tokenizer,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(backend), std::move(tokenizer), options)) {}

Engine::~Engine() = default;

RequestId Engine::submit(GenerateRequest request) {
  auto seq = std::make_unique<Sequence>();
  seq->id = impl_->next_id++;
  seq->kind = SeqKind::Generate;
  seq->tokens = request.prompt;
  seq->prompt_len = static_cast<int>(seq->tokens.size());
  uint64_t seed = request.sampling.seed ? *request.sampling.seed
                                        : mix(impl_->options.default_seed ^ mix(seq->id));
  seq->gen = std::make_unique<GenerateState>(std::move(request), seed, *impl_->tokenizer);
  return impl_->post(std::move(seq));
}

RequestId Engine::submit(ScoreRequest request) {
  auto seq = std::make_unique<Sequence>();
  seq->id = impl_->next_id++;
  seq->kind = SeqKind::ScorePrefix;
  seq->job = std::make_shared<ScoreJob>();
  seq->job->request = std::move(request);
  seq->job->result.id = seq->id;
  const auto& prefix = seq->job->request.prefix;
  // The prefix's last token runs with each continuation, which needs its logits.
  if (!prefix.empty()) seq->tokens.assign(prefix.begin(), prefix.end() - 1);
  seq->prompt_len = static_cast<int>(seq->tokens.size());
  return impl_->post(std::move(seq));
}

void Engine::cancel(RequestId id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->cancels.push_back(id);
  }
  impl_->cv.notify_all();
}

const model::Tokenizer& Engine::tokenizer() const {
  return *impl_->tokenizer;
}
const model::ModelConfig& Engine::config() const {
  return impl_->backend->config();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->published;
}

void Engine::clear_cache() {
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    impl_->cache->clear();
    return;
  }
  std::future<void> done;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->clear_requests.emplace_back();
    done = impl_->clear_requests.back().get_future();
  }
  impl_->cv.notify_all();
  done.wait();
}

}  // namespace sgp::engine
