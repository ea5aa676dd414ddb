// Device sampling: one block per row. Greedy is an arg-max (lowest id among equal maxima); a
// temperature draw walks the ids in order over weights exp((x - max) / T), in double like the
// host's Sampler, and stops where u * total falls, chunk by chunk with a block-wide scan.
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/sampling.h"

namespace sgp::cuda {

namespace {

constexpr int kThreads = 512;
constexpr int kItems = 8;  // consecutive ids per thread in one scan chunk
constexpr int kChunk = kThreads * kItems;

struct ArgMax {
  float v;
  int i;
};

struct ArgMaxOp {
  __device__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
    if (a.v > b.v) return a;
    if (b.v > a.v) return b;
    return a.i < b.i ? a : b;
  }
};

struct MaxFloat {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

struct MaxOp {
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};

__device__ bool candidate(float x, double w, float min_p) {
  return min_p > 0.0f ? w >= static_cast<double>(min_p) : x != -INFINITY;
}

__global__ void sample_rows_kernel(const float* __restrict__ logits, int n_vocab,
                                   const RowDraw* __restrict__ draws, int32_t* __restrict__ out) {
  using Reduce = cub::BlockReduce<ArgMax, kThreads>;
  using SumReduce = cub::BlockReduce<double, kThreads>;
  using IntReduce = cub::BlockReduce<int, kThreads>;
  using Scan = cub::BlockScan<double, kThreads>;
  __shared__ union {
    typename Reduce::TempStorage reduce;
    typename SumReduce::TempStorage sum;
    typename IntReduce::TempStorage ints;
    typename Scan::TempStorage scan;
  } tmp;
  __shared__ ArgMax best_s;
  __shared__ double total_s;
  __shared__ int found_s;
  __shared__ int last_s;

  const RowDraw d = draws[blockIdx.x];
  const float* x = logits + static_cast<size_t>(d.row) * n_vocab;

  ArgMax best{-INFINITY, n_vocab};
  for (int i = threadIdx.x; i < n_vocab; i += kThreads) {
    const float v = x[i];
    if (v > best.v || (v == best.v && i < best.i)) best = {v, i};
  }
  best = Reduce(tmp.reduce).Reduce(best, ArgMaxOp());
  if (threadIdx.x == 0) best_s = best;
  __syncthreads();
  best = best_s;
  if (d.temperature <= 0.0f || best.i >= n_vocab) {
    if (threadIdx.x == 0) out[blockIdx.x] = best.i >= n_vocab ? -1 : best.i;
    return;
  }

  const double inv_t = 1.0 / static_cast<double>(d.temperature);
  const float mx = best.v;
  // The weight of id i, 0 unless it is a candidate (which an underflowed one may still be).
  auto weight = [&](int i, bool& is_candidate) {
    const float xi = x[i];
    const double w = exp(static_cast<double>(xi - mx) * inv_t);
    is_candidate = candidate(xi, w, d.min_p);
    return is_candidate ? w : 0.0;
  };

  // Total weight and the last candidate id (the host's fallback when rounding leaves r >= 0).
  double part = 0.0;
  int last = -1;
  for (int i = threadIdx.x; i < n_vocab; i += kThreads) {
    bool c;
    part += weight(i, c);
    if (c) last = i;
  }
  const double total = SumReduce(tmp.sum).Sum(part);
  if (threadIdx.x == 0) total_s = total;
  __syncthreads();
  const int last_all = IntReduce(tmp.ints).Reduce(last, MaxOp());
  if (threadIdx.x == 0) {
    last_s = last_all;
    found_s = -1;
  }
  __syncthreads();

  const double target = d.u * total_s;
  double before = 0.0;  // weight of every id before this chunk
  for (int base = 0; base < n_vocab; base += kChunk) {
    const int first = base + threadIdx.x * kItems;
    double w[kItems];
    double mine = 0.0;
#pragma unroll
    for (int k = 0; k < kItems; ++k) {
      bool c;
      w[k] = first + k < n_vocab ? weight(first + k, c) : 0.0;
      mine += w[k];
    }
    double excl, chunk_total;
    Scan(tmp.scan).ExclusiveSum(mine, excl, chunk_total);
    double r = target - before - excl;
    if (mine > 0.0 && r >= 0.0 && r < mine) {
      int pick = -1;
#pragma unroll
      for (int k = 0; k < kItems; ++k) {
        if (pick < 0 && w[k] > 0.0) {
          if (r < w[k]) pick = first + k;
          r -= w[k];
        }
      }
      if (pick >= 0) atomicMax(&found_s, pick);  // one thread's range holds the target
    }
    __syncthreads();
    if (found_s >= 0) break;
    before += chunk_total;
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = found_s >= 0 ? found_s : last_s;
}

__global__ void row_logprobs_kernel(const float* __restrict__ logits, int n_vocab,
                                    const RowTarget* __restrict__ targets,
                                    float* __restrict__ out) {
  using FloatReduce = cub::BlockReduce<float, kThreads>;
  using SumReduce = cub::BlockReduce<double, kThreads>;
  __shared__ union {
    typename FloatReduce::TempStorage f;
    typename SumReduce::TempStorage d;
  } tmp;
  __shared__ float mx_s;
  const RowTarget t = targets[blockIdx.x];
  const float* x = logits + static_cast<size_t>(t.row) * n_vocab;
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < n_vocab; i += kThreads) mx = fmaxf(mx, x[i]);
  mx = FloatReduce(tmp.f).Reduce(mx, MaxFloat());
  if (threadIdx.x == 0) mx_s = mx;
  __syncthreads();
  mx = mx_s;
  double part = 0.0;
  for (int i = threadIdx.x; i < n_vocab; i += kThreads)
    part += exp(static_cast<double>(x[i]) - static_cast<double>(mx));
  const double sum = SumReduce(tmp.d).Sum(part);
  if (threadIdx.x == 0) {
    const double lse = static_cast<double>(mx) + log(sum);
    out[blockIdx.x] = static_cast<float>(static_cast<double>(x[t.token]) - lse);
  }
}

}  // namespace

void row_logprobs(const float* logits, int n_vocab, const RowTarget* targets, int n_targets,
                  float* out, cudaStream_t stream) {
  if (n_targets <= 0) return;
  row_logprobs_kernel<<<n_targets, kThreads, 0, stream>>>(logits, n_vocab, targets, out);
  SGP_CUDA_CHECK(cudaGetLastError());
}

void sample_rows(const float* logits, int n_vocab, const RowDraw* draws, int n_draws, int32_t* out,
                 cudaStream_t stream) {
  if (n_draws <= 0) return;
  sample_rows_kernel<<<n_draws, kThreads, 0, stream>>>(logits, n_vocab, draws, out);
  SGP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace sgp::cuda
