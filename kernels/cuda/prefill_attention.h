// Launcher for tensor-core causal attention of prefill/extend chunks over their paged KV.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/batch_meta.h"
#include "kernels/cuda/kv_layout.h"

namespace sgp::cuda {

// One block serves 64 query rows: prefill_tile_tokens(group) consecutive tokens of one sequence
// times the (power-of-two padded) query heads of one KV head, so each K/V tile is staged once
// in shared memory for the whole group. tiles[i] = {seq, first token index, token count}.
struct PrefillAttention {
  const __nv_bfloat16* q = nullptr;   // [n_tokens, n_head, head_dim], rotated
  const __nv_bfloat16* kv = nullptr;  // the pool advanced to this layer
  __nv_bfloat16* out = nullptr;       // [n_tokens, n_head, head_dim]
  KvLayout layout;
  BatchMeta meta;
  int n_head = 0;
  const int* tiles = nullptr;  // [n_tiles * 3]
  int n_tiles = 0;
};

bool prefill_attention_supported(int head_dim, int group);
int prefill_tile_tokens(int group);
void prefill_attention(const PrefillAttention& args, cudaStream_t stream);

}  // namespace sgp::cuda
