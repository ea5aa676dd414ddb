// Launcher for paged causal attention over the KV pool: split-KV flash-decoding, GQA-aware.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/batch_meta.h"
#include "kernels/cuda/kv_layout.h"

namespace sgp::cuda {

struct PagedAttention {
  const __nv_bfloat16* q = nullptr;   // [n_tokens, n_head, head_dim], already rotated
  const __nv_bfloat16* kv = nullptr;  // the pool advanced to this layer
  __nv_bfloat16* out = nullptr;       // [n_tokens, n_head, head_dim]
  float* part_acc = nullptr;          // [n_tokens, n_head, n_splits, head_dim] when n_splits > 1
  float* part_ml = nullptr;           // [n_tokens, n_head, n_splits, 2]         when n_splits > 1
  KvLayout layout;
  BatchMeta meta;
  // Tokens to serve: tokens[0..n_rows) when given (decodes of a mixed batch), else all of meta.
  const int* tokens = nullptr;
  int n_rows = 0;
  int n_head = 0;
  int max_keys = 0;  // longest causal window in the batch (max position + 1)
  int n_splits = 1;
  // > 0: each row divides its own keys (read from tok_pos on the device) evenly over n_splits,
  // at least min_chunk keys per split, and max_keys is unused. A CUDA graph captures the launch
  // once for every context length; a row whose keys fit one split writes its output directly.
  int min_chunk = 0;
};

// The fixed split count and minimum split size of a decode graph of `n_rows` rows (any context):
// enough splits to fill the GPU for small buckets, else a few for long rows only.
struct GraphSplits {
  int n_splits = 1;
  int min_chunk = 0;
};
GraphSplits graph_attention_splits(int n_rows, int n_head_kv, int n_sms);

// Token t attends to positions [0, tok_pos[t]] of its sequence. One block serves one token and
// one KV head for every query head of its group, so each K/V vector is read once per group.
// Splits over the keys fill the GPU when the batch is small, and cap the keys one block walks
// when contexts are ragged (`mean_keys` well below `max_keys`; 0: take max_keys).
int attention_splits(int n_tokens, int n_head_kv, int max_keys, int n_sms, int mean_keys = 0);
// Supports head_dim 64, 128, 256 and up to 8 query heads per KV head; throws sgp::Error otherwise.
void paged_attention(const PagedAttention& args, cudaStream_t stream);

}  // namespace sgp::cuda
