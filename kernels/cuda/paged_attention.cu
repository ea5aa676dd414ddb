// Paged causal attention: split-KV flash-decoding with online softmax, one block per (token,
// KV head, split) serving the whole GQA group; a second kernel merges the splits.
#include <algorithm>
#include <cfloat>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/paged_attention.h"

namespace sgp::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 4;
constexpr int kMinKeysPerSplit = 128;  // one tile of 32 keys per warp
constexpr int kBalanceKeys = 512;      // most keys one block walks when the batch is large

__device__ inline float dot8(const float* q, const uint4& raw) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 v = __bfloat1622float2(h[i]);
    s = fmaf(q[2 * i], v.x, s);
    s = fmaf(q[2 * i + 1], v.y, s);
  }
  return s;
}

template <int N>
__device__ inline void load_dims(const bf16* p, float (&f)[N]) {
  if constexpr (N == 2) {
    const float2 v = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
    f[0] = v.x;
    f[1] = v.y;
  } else if constexpr (N == 4) {
    const uint2 raw = *reinterpret_cast<const uint2*>(p);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 v = __bfloat1622float2(h[i]);
      f[2 * i] = v.x;
      f[2 * i + 1] = v.y;
    }
  } else {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 v = __bfloat1622float2(h[i]);
      f[2 * i] = v.x;
      f[2 * i + 1] = v.y;
    }
  }
}

__device__ inline float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Each warp takes tiles of 32 keys. Scores: one key per lane (its whole K row, 16-byte loads,
// against q held in shared memory), one max per tile for the online softmax. P·V: the warp
// walks the tile's V rows coalesced, each lane owning D/32 dims for every head of the group.
// Keys per split of a row of `len` keys when the split is chosen per row (min_chunk > 0): whole
// 32-key tiles, at least min_chunk.
__device__ inline int row_chunk(const PagedAttention& a, int len) {
  const int even = (len + a.n_splits - 1) / a.n_splits;
  return max(a.min_chunk, (even + 31) / 32 * 32);
}

template <int D, int kMaxGroup>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(PagedAttention a, int group, int chunk, float scale_log2) {
  constexpr int kDims = D / 32;  // per lane in P·V
  const int slot = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int t = a.tokens ? a.tokens[slot] : slot;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int pos = a.meta.tok_pos[t];
  const int seq = a.meta.tok_seq[t];
  const int* pages = a.meta.pages + a.meta.seq_page_off[seq];
  bool direct = gridDim.z == 1;  // write the output, not a partial for the merge
  if (a.min_chunk > 0) {
    chunk = row_chunk(a, pos + 1);
    if (chunk >= pos + 1) {  // one split holds the row: the merge kernel skips it
      if (split > 0) return;
      direct = true;
    }
  }
  const int begin = split * chunk;
  const int end = min(begin + chunk, pos + 1);

  if (begin >= end) {  // a split past this sequence's end: an empty partial, nothing to read
    if (threadIdx.x < group) {
      const size_t part =
          (static_cast<size_t>(slot) * a.n_head + kvh * group + threadIdx.x) * gridDim.z + split;
      a.part_ml[part * 2] = -INFINITY;
      a.part_ml[part * 2 + 1] = 0.f;
    }
    return;
  }

  __shared__ __align__(16) float q_s[kMaxGroup][D];
  __shared__ float p_s[kWarps][kMaxGroup][32];
  __shared__ size_t off_s[kWarps][32];
  for (int e = threadIdx.x; e < group * D; e += blockDim.x)
    q_s[e / D][e % D] =
        __bfloat162float(a.q[(static_cast<size_t>(t) * a.n_head + kvh * group) * D + e]) *
        scale_log2;
  __syncthreads();

  float m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][kDims];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < kDims; ++i) acc[g][i] = 0.f;
  }
  const size_t head_off = kvh * a.layout.head_elems();
  const size_t v_off = a.layout.kv_elems();
  const int ps = a.layout.page_size;

  for (int tile = begin + warp * 32; tile < end; tile += kWarps * 32) {
    const int j = tile + lane;
    const bool valid = j < end;
    float s[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) s[g] = 0.f;
    if (valid) {
      const size_t off =
          pages[j / ps] * a.layout.page_elems() + head_off + static_cast<size_t>(j % ps) * D;
      off_s[warp][lane] = off;
      const uint4* kp = reinterpret_cast<const uint4*>(a.kv + off);
      constexpr int kBatch = D / 8 < 16 ? D / 8 : 16;  // 16-byte loads in flight per lane
#pragma unroll
      for (int c0 = 0; c0 < D / 8; c0 += kBatch) {
        uint4 k[kBatch];
#pragma unroll
        for (int c = 0; c < kBatch; ++c) k[c] = kp[c0 + c];
#pragma unroll
        for (int c = 0; c < kBatch; ++c)
#pragma unroll
          for (int g = 0; g < kMaxGroup; ++g)
            if (g < group) s[g] += dot8(&q_s[g][(c0 + c) * 8], k[c]);
      }
    }
    const int n_valid = min(32, end - tile);
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g < group) {
        const float mt = warp_max(valid ? s[g] : -INFINITY);
        const float mn = fmaxf(m[g], mt);
        const float c = exp2f(m[g] - mn);
        const float p = valid ? exp2f(s[g] - mn) : 0.f;
        l[g] = l[g] * c + p;
        m[g] = mn;
        p_s[warp][g][lane] = p;
#pragma unroll
        for (int i = 0; i < kDims; ++i) acc[g][i] *= c;
      }
    }
    __syncwarp();
    const bf16* vbase = a.kv + v_off + lane * kDims;
#pragma unroll 8
    for (int kk = 0; kk < n_valid; ++kk) {
      float v[kDims];
      load_dims(vbase + off_s[warp][kk], v);
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g < group) {
          const float p = p_s[warp][g][kk];
#pragma unroll
          for (int i = 0; i < kDims; ++i) acc[g][i] = fmaf(p, v[i], acc[g][i]);
        }
      }
    }
    __syncwarp();
  }

  // Merge the warps of the block.
  __shared__ float sm_m[kWarps][kMaxGroup], sm_l[kWarps][kMaxGroup];
  __shared__ float sm_acc[kWarps][kMaxGroup][D];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < group) {
      const float lw = warp_sum(l[g]);
      if (lane == 0) {
        sm_m[warp][g] = m[g];
        sm_l[warp][g] = lw;
      }
#pragma unroll
      for (int i = 0; i < kDims; ++i) sm_acc[warp][g][lane * kDims + i] = acc[g][i];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < group * D; e += blockDim.x) {
    const int g = e / D, d = e % D;
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm_m[w][g]);
    float ls = 0.f, as = 0.f;
    if (mx != -INFINITY) {
      for (int w = 0; w < kWarps; ++w) {
        if (sm_m[w][g] == -INFINITY) continue;
        const float wt = exp2f(sm_m[w][g] - mx);
        ls += sm_l[w][g] * wt;
        as += sm_acc[w][g][d] * wt;
      }
    }
    const size_t head = kvh * group + g;
    if (direct) {
      a.out[(static_cast<size_t>(t) * a.n_head + head) * D + d] = __float2bfloat16(as / ls);
    } else {
      const size_t part = (static_cast<size_t>(slot) * a.n_head + head) * gridDim.z + split;
      a.part_acc[part * D + d] = as;
      if (d == 0) {
        a.part_ml[part * 2] = mx;
        a.part_ml[part * 2 + 1] = ls;
      }
    }
  }
}

__global__ void merge_splits_kernel(PagedAttention a, int head_dim) {
  const size_t row = blockIdx.x;  // slot * n_head + head
  const size_t slot = row / a.n_head, head = row % a.n_head;
  const size_t t = a.tokens ? a.tokens[slot] : slot;
  const size_t out_row = t * a.n_head + head;
  if (a.min_chunk > 0) {
    const int len = a.meta.tok_pos[t] + 1;
    if (row_chunk(a, len) >= len) return;  // written directly by its only split
  }
  const int n = a.n_splits;
  const float* ml = a.part_ml + row * n * 2;
  float mx = -INFINITY;
  for (int s = 0; s < n; ++s) mx = fmaxf(mx, ml[2 * s]);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float ls = 0.f, as = 0.f;
    for (int s = 0; s < n; ++s) {
      if (ml[2 * s + 1] == 0.f) continue;  // an empty split
      const float w = exp2f(ml[2 * s] - mx);
      ls += ml[2 * s + 1] * w;
      as += a.part_acc[(row * n + s) * head_dim + d] * w;
    }
    a.out[out_row * head_dim + d] = __float2bfloat16(as / ls);
  }
}

// Register arrays are sized by a compile-time bound on the group: 1, 2, 4 or 8 query heads.
template <int D>
void launch(const PagedAttention& a, int group, int chunk, cudaStream_t stream) {
  const dim3 grid(a.n_rows, a.layout.n_head_kv, a.n_splits);
  const float scale_log2 = 1.4426950408889634f / sqrtf(static_cast<float>(D));
  if (group == 1)
    attention_kernel<D, 1><<<grid, kWarps * 32, 0, stream>>>(a, group, chunk, scale_log2);
  else if (group == 2)
    attention_kernel<D, 2><<<grid, kWarps * 32, 0, stream>>>(a, group, chunk, scale_log2);
  else if (group <= 4)
    attention_kernel<D, 4><<<grid, kWarps * 32, 0, stream>>>(a, group, chunk, scale_log2);
  else
    attention_kernel<D, 8><<<grid, kWarps * 32, 0, stream>>>(a, group, chunk, scale_log2);
  SGP_CUDA_CHECK_LAUNCH();
}

}  // namespace

int attention_splits(int n_tokens, int n_head_kv, int max_keys, int n_sms, int mean_keys) {
  const int blocks = n_tokens * n_head_kv;
  // Enough blocks to fill the GPU twice...
  const int want = (2 * n_sms + blocks - 1) / blocks;
  // ...and, in a ragged batch, no block walking much more than twice the mean context: the
  // longest one would otherwise keep its block busy long after the others finished (splits
  // past a shorter sequence's end exit at once).
  const int per_block = std::max(kBalanceKeys, 2 * (mean_keys > 0 ? mean_keys : max_keys));
  const int balance = (max_keys + per_block - 1) / per_block;
  const int most = (max_keys + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
  return std::max(1, std::min(std::max(want, balance), most));
}

GraphSplits graph_attention_splits(int n_rows, int n_head_kv, int n_sms) {
  const int blocks = std::max(1, n_rows * n_head_kv);
  const int want = (2 * n_sms + blocks - 1) / blocks;
  // Small buckets: the splits fill the GPU (a row uses as many as its length allows, 128 keys
  // each at least, as attention_splits gives the eager path). Large buckets fill it with rows;
  // only rows longer than 2048 keys split, so a long row does not hold up the step.
  if (want >= 2) return {std::min(want, 32), kMinKeysPerSplit};
  return {4, 2048};
}

void paged_attention(const PagedAttention& a, cudaStream_t stream) {
  if (a.n_rows == 0) return;
  const int D = a.layout.head_dim;
  if (a.layout.n_head_kv <= 0 || a.n_head % a.layout.n_head_kv != 0)
    throw Error("attention: n_head must be a multiple of n_head_kv");
  const int group = a.n_head / a.layout.n_head_kv;
  if (group > 8)
    throw Error("attention: more than 8 query heads per KV head is not supported on CUDA");
  const int chunk = a.min_chunk > 0 ? 0 : (a.max_keys + a.n_splits - 1) / a.n_splits;
  switch (D) {
    case 64:
      launch<64>(a, group, chunk, stream);
      break;
    case 128:
      launch<128>(a, group, chunk, stream);
      break;
    case 256:
      launch<256>(a, group, chunk, stream);
      break;
    default:
      throw Error("attention: head_dim " + std::to_string(D) + " is not supported on CUDA");
  }
  if (a.n_splits > 1) {
    merge_splits_kernel<<<a.n_rows * a.n_head, D, 0, stream>>>(a, D);
    SGP_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace sgp::cuda
