// ForwardPlan: the device-side description of one forward (index arrays, row counts, attention
// splits) from which CudaBackend launches every kernel; the eager path and graph capture share it.
#pragma once

#include "kernels/cuda/batch_meta.h"

namespace sgp::cuda {

struct ForwardPlan {
  int n_tokens = 0;
  int n_rows = 0;               // logits rows
  BatchMeta meta;               // meta.n_tokens == n_tokens
  const int* tokens = nullptr;  // [n_tokens] token ids
  const int* rows = nullptr;    // [n_rows] token of each logits row; null: row r is token r
  // Tokens for the split-KV decode kernel; null with n_dec == n_tokens: every token.
  const int* dec = nullptr;
  int n_dec = 0;
  const int* tiles = nullptr;  // (seq, first token, count) triples for the prefill kernel
  int n_tiles = 0;
  int max_keys = 0;  // longest causal window of the decode tokens (unused when min_chunk > 0)
  int n_splits = 1;
  int min_chunk = 0;  // > 0: splits chosen per row on the device (PagedAttention::min_chunk)
};

}  // namespace sgp::cuda
