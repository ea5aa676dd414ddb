// Launcher for RoPE fused with writing the new tokens' K and V into their KV pages.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/batch_meta.h"
#include "kernels/cuda/kv_layout.h"

namespace sgp::cuda {

// qkv: [n_tokens, (n_head + 2*n_head_kv) * head_dim] straight from the QKV GEMM (+ bias if given).
// Writes q_out [n_tokens, n_head, head_dim] rotated, and rotated K / plain V into the pages of
// `kv_layer` (the pool advanced to this layer). inv_freq: [head_dim/2]. neox: rotate pairs
// (i, i + head_dim/2) as Hugging Face Llama does; otherwise adjacent pairs (2i, 2i+1) as GGUF.
void rope_store_kv(const __nv_bfloat16* qkv, const __nv_bfloat16* bias, __nv_bfloat16* q_out,
                   __nv_bfloat16* kv_layer, const KvLayout& layout, const BatchMeta& meta,
                   const float* inv_freq, int n_head, bool neox, cudaStream_t stream);

}  // namespace sgp::cuda
