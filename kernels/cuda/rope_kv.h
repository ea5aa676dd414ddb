// Launcher for RoPE fused with writing the new tokens' K and V into their KV pages.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/batch_meta.h"
#include "kernels/cuda/kv_layout.h"

namespace sgp::cuda {

// qkv: [n_tokens, (n_head + 2*n_head_kv) * head_dim] straight from the QKV GEMM (+ bias if given).
// Writes q_out [n_tokens, n_head, head_dim] rotated, and rotated K / plain V into the pages of
// `kv_layer` (the pool advanced to this layer). neox: rotate pairs
// (i, i + head_dim/2) as Hugging Face Llama does; otherwise adjacent pairs (2i, 2i+1) as GGUF.
// cos_sin: [n_tokens, head_dim/2] (cos, sin) pairs from rope_table, computed once per forward.
void rope_store_kv(const __nv_bfloat16* qkv, const __nv_bfloat16* bias, __nv_bfloat16* q_out,
                   __nv_bfloat16* kv_layer, const KvLayout& layout, const BatchMeta& meta,
                   const float2* cos_sin, int n_head, bool neox, cudaStream_t stream);

// cos_sin[t, j] = (cos, sin)(tok_pos[t] * inv_freq[j]), shared by every layer of the forward.
void rope_table(const int* tok_pos, const float* inv_freq, float2* cos_sin, int n_tokens, int half,
                cudaStream_t stream);

}  // namespace sgp::cuda
