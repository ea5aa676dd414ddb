// ThreadPool: a fixed set of workers that split index ranges (matmul rows, attention heads).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sgp::kernels {

class ThreadPool {
 public:
  // n_threads <= 0: one per hardware thread. The calling thread counts as one of them.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls fn(i) for every i in [0, n) across the threads; returns when all calls are done.
  // fn receives the index and the calling thread's number in [0, size()).
  void parallel_for(int n, const std::function<void(int i, int thread)>& fn);

 private:
  void worker_loop(int thread);
  void drain(uint32_t gen, int thread);

  std::vector<std::thread> workers_;
  // One word holds the generation (16 bits), the task count (24) and the next index (24), so a
  // worker can claim a task with one compare-and-swap and never mixes up two jobs.
  // Claims and completions on separate cache lines: a claim does not bounce the line the
  // caller polls for completion.
  alignas(64) std::atomic<uint64_t> ticket_{0};
  alignas(64) std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  alignas(64) const std::function<void(int, int)>* fn_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sgp::kernels
