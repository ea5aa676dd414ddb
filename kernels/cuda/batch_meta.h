// BatchMeta: the device-side index arrays of one ragged batch, read by the attention and RoPE
// kernels.
#pragma once

namespace sgp::cuda {

struct BatchMeta {
  const int* tok_seq = nullptr;       // [n_tokens] sequence of each token
  const int* tok_pos = nullptr;       // [n_tokens] absolute position of each token
  const int* seq_page_off = nullptr;  // [n_seqs+1] offsets into pages
  const int* pages = nullptr;         // concatenated page tables
  int n_tokens = 0;
};

}  // namespace sgp::cuda
