// PhaseTimer: where a forward's GPU time goes, by phase (GEMMs, attention, norms...), measured
// with CUDA events when SGP_CUDA_PROFILE is set; free when it is not.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"

namespace sgp::cuda {

class PhaseTimer {
 public:
  PhaseTimer() : on_(std::getenv("SGP_CUDA_PROFILE") != nullptr) {}
  ~PhaseTimer() {
    if (!on_) return;
    report(stderr);
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

  bool on() const { return on_; }
  // While paused (a CUDA graph being captured), marks and finish() do nothing.
  void pause(bool p) { paused_ = p; }
  // Marks the start of `phase` (which ends where the next mark or finish() is).
  void mark(const char* phase, cudaStream_t stream) {
    if (!on_ || paused_) return;
    if (used_ == events_.size()) {
      cudaEvent_t e;
      SGP_CUDA_CHECK(cudaEventCreate(&e));
      events_.push_back(e);
    }
    SGP_CUDA_CHECK(cudaEventRecord(events_[used_++], stream));
    names_.push_back(phase);
  }
  // Ends the last phase, waits for the stream and adds this forward's times to the totals.
  void finish(cudaStream_t stream) {
    if (!on_ || paused_ || used_ == 0) return;
    mark("", stream);
    SGP_CUDA_CHECK(cudaEventSynchronize(events_[used_ - 1]));
    for (size_t i = 0; i + 1 < used_; ++i) {
      float ms = 0;
      SGP_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]));
      total_ms_[names_[i]] += ms;
    }
    ++forwards_;
    used_ = 0;
    names_.clear();
  }
  void report(std::FILE* f) const {
    double sum = 0;
    for (const auto& [k, v] : total_ms_) sum += v;
    std::fprintf(f, "GPU time by phase over %ld forwards (%.1f ms):\n", forwards_, sum);
    for (const auto& [k, v] : total_ms_)
      std::fprintf(f, "  %-16s %10.1f ms  %5.1f%%\n", k.c_str(), v, sum > 0 ? 100 * v / sum : 0);
  }

 private:
  bool on_;
  bool paused_ = false;
  std::vector<cudaEvent_t> events_;
  size_t used_ = 0;
  std::vector<const char*> names_;
  std::map<std::string, double> total_ms_;
  long forwards_ = 0;
};

}  // namespace sgp::cuda
