// DecodeGraphs: the decode step as CUDA graphs, captured once per padded batch-size bucket and
// replayed for decode-only batches, with every per-step input staged at fixed device addresses.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/forward_plan.h"
#include "model/forward_batch.h"

namespace sgp::cuda {

class CudaBackend;

// Off: decode batches take the eager path sized to the batch. Graph: decode-only batches replay
// their bucket's graph. Padded: the bucket's launches run eagerly, exactly as the graph holds
// them (tests compare replays with it bit for bit).
enum class DecodeGraphMode { Off, Padded, Graph };

struct DecodeGraphStats {
  long captures = 0;     // graphs instantiated (a bucket is captured again when buffers moved)
  long replays = 0;      // steps run as a graph
  long padded_runs = 0;  // steps run as the bucket's launches eagerly (Padded mode; and in Graph
                         // mode the step before each capture)
};

class DecodeGraphs {
 public:
  // Batch sizes a graph exists for; a batch of n rows runs in the smallest bucket >= n.
  static constexpr int kBuckets[] = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256};
  static constexpr int kNumBuckets = sizeof(kBuckets) / sizeof(kBuckets[0]);
  // The smallest bucket holding n rows, or 0 when n exceeds the largest.
  static int bucket_for(int n);

  // The mode starts as SGP_CUDA_GRAPHS says (0: Off, 1: Graph, padded: Padded), else `fallback`.
  DecodeGraphs(cudaStream_t stream, DecodeGraphMode fallback);
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  DecodeGraphMode mode() const { return mode_; }
  void set_mode(DecodeGraphMode m);
  const DecodeGraphStats& stats() const { return stats_; }

  // Runs a batch in which every sequence brings one token and wants its last logits row, when it
  // fits a bucket: returns its row count (logits rows 0..n-1 of the backend's logits buffer).
  // Returns -1, having launched nothing, for any other batch (the caller runs it eagerly).
  // Asynchronous on the backend's stream. `batch` was validated by the caller.
  int try_run(CudaBackend& backend, const model::ForwardBatch& batch);

 private:
  struct Graph {
    cudaGraphExec_t exec = nullptr;
    std::vector<uintptr_t> key;  // the addresses and settings captured (CudaBackend::graph_key)
  };
  void clear();
  void reserve_staging(size_t n_ints);
  void reserve_buffers(CudaBackend& b, const ForwardPlan& plan);
  void capture(CudaBackend& b, const ForwardPlan& plan, Graph& g);

  cudaStream_t stream_;
  DecodeGraphMode mode_;
  DecodeGraphStats stats_;
  Graph graphs_[kNumBuckets];
  bool warned_ = false;

  // Staging: [tokens | positions | seqs | page offsets (bucket + 1) | pages], filled in pinned
  // memory (two buffers, alternating, so filling step n+1 never waits for step n's copy) and
  // copied in one transfer before the replay into one device buffer every graph reads.
  DeviceBuffer<int> staging_;
  int* host_[2] = {nullptr, nullptr};
  cudaEvent_t host_free_[2] = {nullptr, nullptr};
  size_t cap_ = 0;
  int next_ = 0;
};

}  // namespace sgp::cuda
