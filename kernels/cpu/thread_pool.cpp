// ThreadPool: workers spin briefly for the next job (decode issues hundreds per token), then sleep.
#include "kernels/cpu/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "sgp/error.h"

namespace sgp::kernels {
namespace {

// Spins before a worker sleeps; every kYieldEvery spins it yields, so that on an oversubscribed
// machine a descheduled thread holding a task gets the core back.
constexpr int kSpins = 100000;
constexpr int kYieldEvery = 256;
constexpr uint64_t kMaxTasks = (1u << 24) - 1;

inline uint32_t gen_of(uint64_t t) {
  return static_cast<uint32_t>(t >> 48);
}
inline uint64_t count_of(uint64_t t) {
  return (t >> 24) & kMaxTasks;
}
inline uint64_t index_of(uint64_t t) {
  return t & kMaxTasks;
}

inline void pause() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  if (n_threads <= 0) n_threads = 1;
  for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::drain(uint32_t gen, int thread) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  while (gen_of(t) == gen && index_of(t) < count_of(t)) {
    if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) {
      (*fn_)(static_cast<int>(index_of(t)), thread);
      done_.fetch_add(1, std::memory_order_acq_rel);
      t = ticket_.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::worker_loop(int thread) {
  uint32_t seen = gen_of(ticket_.load());
  for (;;) {
    int spins = 0;
    uint64_t t;
    while (gen_of(t = ticket_.load(std::memory_order_acquire)) == seen) {
      if (stop_.load(std::memory_order_relaxed)) return;
      if (++spins < kSpins) {
        pause();
        if (spins % kYieldEvery == 0) std::this_thread::yield();
        continue;
      }
      std::unique_lock<std::mutex> lk(mu_);
      sleepers_.fetch_add(1);
      cv_.wait(lk, [&] { return stop_.load() || gen_of(ticket_.load()) != seen; });
      sleepers_.fetch_sub(1);
      spins = 0;
    }
    seen = gen_of(t);
    drain(seen, thread);
  }
}

void ThreadPool::parallel_for(int n, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  if (static_cast<uint64_t>(n) > kMaxTasks) throw Error("ThreadPool: too many tasks");
  fn_ = &fn;
  done_.store(0, std::memory_order_relaxed);
  uint32_t gen = (gen_of(ticket_.load()) + 1) & 0xffff;
  ticket_.store((static_cast<uint64_t>(gen) << 48) | (static_cast<uint64_t>(n) << 24),
                std::memory_order_seq_cst);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  drain(gen, 0);
  for (int spins = 1; done_.load(std::memory_order_acquire) < n; ++spins) {
    pause();
    if (spins % kYieldEvery == 0) std::this_thread::yield();
  }
}

}  // namespace sgp::kernels
