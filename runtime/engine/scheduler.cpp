// Scheduler: which sequences run in the next step and how many tokens each — continuous
// batching, longest-prefix-first admission, chunked prefill under a token budget, preemption.
#include "engine/scheduler.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace sgp::engine {

namespace {
int common_prefix(const std::vector<int32_t>& a, int a_len, const std::vector<int32_t>& b,
                  int b_len) {
  int n = std::min(a_len, b_len);
  int i = 0;
  while (i < n && a[static_cast<size_t>(i)] == b[static_cast<size_t>(i)]) ++i;
  return i;
}
}  // namespace

Scheduler::Scheduler(kv::RadixCache& cache, SchedulerOptions options, kv::CopyPageFn copy)
    : cache_(cache), options_(options), copy_(std::move(copy)) {
  options_.max_step_tokens = std::max(options_.max_step_tokens, 1);
  options_.max_running = std::max(options_.max_running, 1);
}

Scheduler::~Scheduler() {
  for (auto& s : running_) cache_.free(s->kv);
  for (auto& s : waiting_) cache_.free(s->kv);
}

void Scheduler::enqueue(std::unique_ptr<Sequence> seq) {
  waiting_.push_back(std::move(seq));
}

void Scheduler::start(std::unique_ptr<Sequence> seq) {
  seq->admitted_once = true;
  running_.push_back(std::move(seq));
}

int Scheduler::admission_match(const Sequence& w) const {
  if (!options_.radix_cache) return 0;
  return cache_.match_length(w.tokens, w.max_cached());
}

// A waiting request whose prefix a running sequence is still prefilling waits for it to land
// in the cache instead of computing the same prefix again in parallel.
bool Scheduler::should_defer(const Sequence& w, int matched) const {
  if (!options_.radix_cache) return false;
  const int P = cache_.page_size();
  for (const auto& r : running_) {
    if (r->kind == SeqKind::ScoreChoice || r->n_computed >= r->prompt_len) continue;
    int will_cache = r->kind == SeqKind::Generate ? r->prompt_len / P * P : r->prompt_len;
    int shared = common_prefix(w.tokens, w.max_cached(), r->tokens, will_cache);
    if (shared - matched >= P) return true;
  }
  return false;
}

void Scheduler::preempt(size_t index) {
  std::unique_ptr<Sequence> seq = std::move(running_[index]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  if (options_.radix_cache) {
    // Never a placeholder of an overlapped step: only tokens known on the host are cached.
    int len = std::min(seq->n_computed, seq->known()) / cache_.page_size() * cache_.page_size();
    cache_.insert(seq->tokens, len, seq->kv);
  }
  cache_.free(seq->kv);
  seq->n_computed = 0;
  ++preemptions_;
  waiting_.push_back(std::move(seq));
}

std::vector<StepChunk> Scheduler::schedule(std::vector<std::unique_ptr<Sequence>>& failed) {
  std::vector<StepChunk> chunks;
  int budget = options_.max_step_tokens;

  // Decodes first (one token each, they keep streams moving), then prefill chunks; each group
  // oldest first.
  std::vector<Sequence*> plan;
  for (const auto& s : running_)
    if (s->decoding) plan.push_back(s.get());
  for (const auto& s : running_)
    if (!s->decoding) plan.push_back(s.get());
  std::unordered_set<const Sequence*> scheduled, preempted;
  auto index_of = [&](const Sequence* seq) {
    for (size_t i = 0; i < running_.size(); ++i)
      if (running_[i].get() == seq) return i;
    throw std::logic_error("Scheduler: sequence is not running");
  };
  // Preempts the newest running sequence that is neither `keep` nor already in this step.
  auto preempt_newest = [&](const Sequence* keep) {
    for (size_t i = running_.size(); i-- > 0;) {
      const Sequence* s = running_[i].get();
      if (s == keep || scheduled.count(s)) continue;
      preempted.insert(s);
      preempt(i);
      return true;
    }
    return false;
  };

  for (Sequence* seq : plan) {
    if (budget <= 0) break;
    if (preempted.count(seq)) continue;
    int n = std::min(seq->pending(), budget);
    if (n <= 0) continue;
    bool ok = cache_.reserve(seq->kv, seq->n_computed + n);
    while (!ok && preempt_newest(seq)) ok = cache_.reserve(seq->kv, seq->n_computed + n);
    if (!ok) {
      size_t i = index_of(seq);
      if (scheduled.empty()) {  // alone and still no room: it can never run
        failed.push_back(std::move(running_[i]));
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        preempt(i);
      }
      preempted.insert(seq);
      continue;
    }
    chunks.push_back({seq, n});
    scheduled.insert(seq);
    budget -= n;
  }

  if (budget <= 0 || static_cast<int>(running_.size()) >= options_.max_running || waiting_.empty())
    return chunks;

  // Longest cached prefix first; arrival order breaks ties.
  std::vector<std::pair<int, size_t>> order;
  for (size_t i = 0; i < waiting_.size(); ++i) order.emplace_back(admission_match(*waiting_[i]), i);
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return waiting_[a.second]->arrival < waiting_[b.second]->arrival;
  });
  std::vector<bool> admitted(waiting_.size(), false);
  for (auto [matched, wi] : order) {
    if (budget <= 0 || static_cast<int>(running_.size()) >= options_.max_running) break;
    Sequence& w = *waiting_[wi];
    if (should_defer(w, matched)) continue;
    if (options_.radix_cache) {
      w.n_computed = cache_.acquire_prefix(w.tokens, w.max_cached(), w.kv, copy_);
      if (!w.admitted_once) {
        cached_tokens_ += static_cast<uint64_t>(w.n_computed);
        w.cached_at_admit = w.n_computed;
      }
    }
    int n = std::min(w.pending(), budget);
    if (!cache_.reserve(w.kv, w.n_computed + n)) {
      cache_.free(w.kv);
      w.n_computed = 0;
      if (running_.empty()) {  // nothing holds pages but the cache: it can never run
        failed.push_back(std::move(waiting_[wi]));
        admitted[wi] = true;
      }
      break;
    }
    w.admitted_once = true;
    if (n > 0) chunks.push_back({&w, n});
    budget -= n;
    running_.push_back(std::move(waiting_[wi]));
    admitted[wi] = true;
  }
  size_t k = 0;
  for (size_t i = 0; i < waiting_.size(); ++i)
    if (!admitted[i]) waiting_[k++] = std::move(waiting_[i]);
  waiting_.resize(k);
  return chunks;
}

void Scheduler::cache_computed(Sequence& seq, bool finished) {
  if (!options_.radix_cache) return;
  const int computed = std::min(seq.n_computed, seq.known());
  int len = finished ? computed : computed / cache_.page_size() * cache_.page_size();
  cache_.insert(seq.tokens, len, seq.kv);
}

std::unique_ptr<Sequence> Scheduler::remove(Sequence* seq, bool cache_it) {
  for (auto* list : {&running_, &waiting_}) {
    auto it = std::find_if(list->begin(), list->end(),
                           [&](const std::unique_ptr<Sequence>& s) { return s.get() == seq; });
    if (it == list->end()) continue;
    std::unique_ptr<Sequence> out = std::move(*it);
    list->erase(it);
    if (cache_it && !out->kv.pages.empty()) cache_computed(*out, true);
    cache_.free(out->kv);
    return out;
  }
  throw std::logic_error("Scheduler::remove: unknown sequence");
}

}  // namespace sgp::engine
