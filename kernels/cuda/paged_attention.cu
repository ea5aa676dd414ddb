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
constexpr int kMinKeysPerSplit = 64;

__device__ inline void load8(const bf16* p, float (&f)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 v = __bfloat1622float2(h[i]);
    f[2 * i] = v.x;
    f[2 * i + 1] = v.y;
  }
}

// Lanes are grouped: D/8 lanes hold one key (8 dims each, one 16-byte load), so a warp works on
// 256/D keys at a time and a block on kWarps times that.
// Up to 4 heads per group, 4 resident blocks per SM keep enough loads in flight.
template <int D, int kMaxGroup>
__global__ void __launch_bounds__(kWarps * 32, kMaxGroup <= 4 ? 4 : 2)
    attention_kernel(PagedAttention a, int group, int chunk, float scale_log2) {
  constexpr int kLanesPerKey = D / 8;
  constexpr int kKeysPerWarp = 32 / kLanesPerKey;
  constexpr int kGroups = kWarps * kKeysPerWarp;
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int sub = lane % kLanesPerKey;
  const int key_group = warp * kKeysPerWarp + lane / kLanesPerKey;

  const int pos = a.meta.tok_pos[t];
  const int seq = a.meta.tok_seq[t];
  const int* pages = a.meta.pages + a.meta.seq_page_off[seq];
  const int begin = split * chunk;
  const int end = min(begin + chunk, pos + 1);

  float q[kMaxGroup][8];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < group) {
      load8(a.q + (static_cast<size_t>(t) * a.n_head + kvh * group + g) * D + sub * 8, q[g]);
#pragma unroll
      for (int i = 0; i < 8; ++i) q[g][i] *= scale_log2;
    }
  }
  float m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][8];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.f;
  }

  const size_t head_off = kvh * a.layout.head_elems() + sub * 8;
  const size_t v_off = a.layout.kv_elems();
  const int ps = a.layout.page_size;
  // Two keys per lane group per iteration: four 16-byte loads in flight before any math.
  // The loop bound is uniform across the warp so every lane joins the shuffles.
  auto update = [&](const float(&k)[8], const float(&v)[8], bool valid) {
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g < group) {
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < 8; ++i) s += q[g][i] * k[i];
#pragma unroll
        for (int o = kLanesPerKey / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (valid) {
          const float mn = fmaxf(m[g], s);
          const float c = exp2f(m[g] - mn), p = exp2f(s - mn);
          l[g] = l[g] * c + p;
#pragma unroll
          for (int i = 0; i < 8; ++i) acc[g][i] = acc[g][i] * c + p * v[i];
          m[g] = mn;
        }
      }
    }
  };
  for (int j0 = begin + warp * kKeysPerWarp; j0 < end; j0 += 2 * kGroups) {
    const int ja = j0 + lane / kLanesPerKey, jb = ja + kGroups;
    const bool va = ja < end, vb = jb < end;
    float ka[8], xa[8], kb[8], xb[8];
    if (va) {
      const bf16* kp = a.kv + pages[ja / ps] * a.layout.page_elems() + head_off +
                       static_cast<size_t>(ja % ps) * D;
      load8(kp, ka);
      load8(kp + v_off, xa);
    }
    if (vb) {
      const bf16* kp = a.kv + pages[jb / ps] * a.layout.page_elems() + head_off +
                       static_cast<size_t>(jb % ps) * D;
      load8(kp, kb);
      load8(kp + v_off, xb);
    }
    if (!va) {
#pragma unroll
      for (int i = 0; i < 8; ++i) ka[i] = xa[i] = 0.f;
    }
    if (!vb) {
#pragma unroll
      for (int i = 0; i < 8; ++i) kb[i] = xb[i] = 0.f;
    }
    update(ka, xa, va);
    update(kb, xb, vb);
  }

  // Merge the key groups of the block.
  __shared__ float sm_m[kGroups][kMaxGroup], sm_l[kGroups][kMaxGroup];
  __shared__ float sm_acc[kGroups][kMaxGroup][D];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < group) {
      if (sub == 0) {
        sm_m[key_group][g] = m[g];
        sm_l[key_group][g] = l[g];
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) sm_acc[key_group][g][sub * 8 + i] = acc[g][i];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < group * D; e += blockDim.x) {
    const int g = e / D, d = e % D;
    float mx = -INFINITY;
    for (int k = 0; k < kGroups; ++k) mx = fmaxf(mx, sm_m[k][g]);
    float ls = 0.f, as = 0.f;
    if (mx != -INFINITY) {
      for (int k = 0; k < kGroups; ++k) {
        const float w = exp2f(sm_m[k][g] - mx);
        ls += sm_l[k][g] * w;
        as += sm_acc[k][g][d] * w;
      }
    }
    const size_t row = static_cast<size_t>(t) * a.n_head + kvh * group + g;
    if (gridDim.z == 1) {
      a.out[row * D + d] = __float2bfloat16(as / ls);
    } else {
      a.part_acc[(row * gridDim.z + split) * D + d] = as;
      if (d == 0) {
        a.part_ml[(row * gridDim.z + split) * 2] = mx;
        a.part_ml[(row * gridDim.z + split) * 2 + 1] = ls;
      }
    }
  }
}

__global__ void merge_splits_kernel(PagedAttention a, int head_dim) {
  const size_t row = blockIdx.x;
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
    a.out[row * head_dim + d] = __float2bfloat16(as / ls);
  }
}

// Register arrays are sized by a compile-time bound on the group: 1, 2, 4 or 8 query heads.
template <int D>
void launch(const PagedAttention& a, int group, int chunk, cudaStream_t stream) {
  const dim3 grid(a.meta.n_tokens, a.layout.n_head_kv, a.n_splits);
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

int attention_splits(int n_tokens, int n_head_kv, int max_keys, int n_sms) {
  const int blocks = n_tokens * n_head_kv;
  const int want = (2 * n_sms + blocks - 1) / blocks;
  const int most = (max_keys + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
  return std::max(1, std::min(want, most));
}

void paged_attention(const PagedAttention& a, cudaStream_t stream) {
  if (a.meta.n_tokens == 0) return;
  const int D = a.layout.head_dim;
  if (a.layout.n_head_kv <= 0 || a.n_head % a.layout.n_head_kv != 0)
    throw Error("attention: n_head must be a multiple of n_head_kv");
  const int group = a.n_head / a.layout.n_head_kv;
  if (group > 8)
    throw Error("attention: more than 8 query heads per KV head is not supported on CUDA");
  const int chunk = (a.max_keys + a.n_splits - 1) / a.n_splits;
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
    merge_splits_kernel<<<a.meta.n_tokens * a.n_head, D, 0, stream>>>(a, D);
    SGP_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace sgp::cuda
