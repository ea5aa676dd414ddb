// RoPE fused with the K/V page write: one pass over the QKV GEMM output.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/rope_kv.h"

namespace sgp::cuda {
namespace {

using bf16 = __nv_bfloat16;

__global__ void rope_store_kv_kernel(const bf16* qkv, const bf16* bias, bf16* q_out, bf16* kv_layer,
                                     KvLayout layout, BatchMeta meta, const float2* cos_sin,
                                     int n_head, bool neox) {
  const int t = blockIdx.x;
  const int D = layout.head_dim, half = D / 2, hkv = layout.n_head_kv;
  const int n_all = n_head + 2 * hkv;
  const int pos = meta.tok_pos[t];
  const int seq = meta.tok_seq[t];
  const int page = meta.pages[meta.seq_page_off[seq] + pos / layout.page_size];
  const int slot = pos % layout.page_size;
  const bf16* src = qkv + static_cast<size_t>(t) * n_all * D;
  bf16* k_page = kv_layer + page * layout.page_elems() + slot * static_cast<size_t>(D);
  bf16* v_page = k_page + layout.kv_elems();

  // Q and K heads: one thread per rotation pair.
  for (int i = threadIdx.x; i < (n_head + hkv) * half; i += blockDim.x) {
    const int h = i / half, j = i % half;
    const int a = neox ? j : 2 * j, b = neox ? j + half : 2 * j + 1;
    float xa = __bfloat162float(src[h * D + a]);
    float xb = __bfloat162float(src[h * D + b]);
    if (bias) {
      xa += __bfloat162float(bias[h * D + a]);
      xb += __bfloat162float(bias[h * D + b]);
    }
    const float2 cs = cos_sin[static_cast<size_t>(t) * half + j];
    const float c = cs.x, s = cs.y;
    const bf16 ra = __float2bfloat16(xa * c - xb * s);
    const bf16 rb = __float2bfloat16(xb * c + xa * s);
    if (h < n_head) {
      bf16* q = q_out + (static_cast<size_t>(t) * n_head + h) * D;
      q[a] = ra;
      q[b] = rb;
    } else {
      bf16* k = k_page + (h - n_head) * layout.head_elems();
      k[a] = ra;
      k[b] = rb;
    }
  }
  // V heads: copied as they are.
  for (int i = threadIdx.x; i < hkv * D; i += blockDim.x) {
    const int h = i / D, d = i % D;
    const int col = (n_head + hkv + h) * D + d;
    float v = __bfloat162float(src[col]);
    if (bias) v += __bfloat162float(bias[col]);
    v_page[h * layout.head_elems() + d] = __float2bfloat16(v);
  }
}

// Full-precision sincosf: angles reach thousands of radians at long positions.
__global__ void rope_table_kernel(const int* tok_pos, const float* inv_freq, float2* cos_sin, int n,
                                  int half) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float s, c;
  sincosf(tok_pos[i / half] * inv_freq[i % half], &s, &c);
  cos_sin[i] = make_float2(c, s);
}

}  // namespace

void rope_store_kv(const bf16* qkv, const bf16* bias, bf16* q_out, bf16* kv_layer,
                   const KvLayout& layout, const BatchMeta& meta, const float2* cos_sin, int n_head,
                   bool neox, cudaStream_t stream) {
  if (meta.n_tokens == 0) return;
  rope_store_kv_kernel<<<meta.n_tokens, 256, 0, stream>>>(qkv, bias, q_out, kv_layer, layout, meta,
                                                          cos_sin, n_head, neox);
  SGP_CUDA_CHECK_LAUNCH();
}

void rope_table(const int* tok_pos, const float* inv_freq, float2* cos_sin, int n_tokens, int half,
                cudaStream_t stream) {
  const int n = n_tokens * half;
  if (n == 0) return;
  rope_table_kernel<<<(n + 255) / 256, 256, 0, stream>>>(tok_pos, inv_freq, cos_sin, n, half);
  SGP_CUDA_CHECK_LAUNCH();
}

}  // namespace sgp::cuda
