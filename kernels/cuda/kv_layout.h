// KvLayout: where one token's K or V of one layer and KV head lives inside the paged pool.
#pragma once

#include <cstddef>

#ifdef __CUDACC__
#define SGP_HD __host__ __device__
#else
#define SGP_HD
#endif

namespace sgp::cuda {

// Pool order [page][layer][K|V][kv_head][slot][head_dim], bf16. A page is contiguous, so
// copy-on-write is one strided copy; one KV head of one page is page_size*head_dim contiguous
// values, so attention reads whole 16-byte vectors along a page.
struct KvLayout {
  int n_layer = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int page_size = 0;

  SGP_HD size_t head_elems() const { return static_cast<size_t>(page_size) * head_dim; }
  SGP_HD size_t kv_elems() const { return head_elems() * n_head_kv; }  // K (or V) of one layer
  SGP_HD size_t layer_elems() const { return 2 * kv_elems(); }
  SGP_HD size_t page_elems() const { return layer_elems() * n_layer; }
  SGP_HD size_t page_bytes() const { return page_elems() * 2; }
};

}  // namespace sgp::cuda
