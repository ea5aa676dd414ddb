// ForwardBatch and Logits: the hand-off between the engine's scheduler and a backend's forward.
#pragma once

#include <cstdint>
#include <vector>

namespace sgp::model {

enum class LogitsMode : uint8_t { None, Last, All };

// One sequence's slice of a ragged batch: a prefill chunk (many tokens) or a decode (one).
struct SeqChunk {
  std::vector<int32_t> tokens;  // new tokens to run through the model
  int32_t start_pos = 0;        // position of tokens[0]; KV for [0, start_pos) is already cached
  // Page table: pages[i] holds the KV of positions [i*page_size, (i+1)*page_size). It covers
  // every position up to start_pos + tokens.size(); the forward writes the new tokens' K/V.
  std::vector<int32_t> pages;
  LogitsMode logits = LogitsMode::Last;
};

struct ForwardBatch {
  std::vector<SeqChunk> seqs;
  int n_tokens() const {
    int n = 0;
    for (const auto& s : seqs) n += static_cast<int>(s.tokens.size());
    return n;
  }
};

// Row-major [n_rows, n_vocab]. Rows follow the batch order: for each sequence, one row (Last),
// one per token (All), or none.
struct Logits {
  int n_rows = 0;
  int n_vocab = 0;
  std::vector<float> data;
  const float* row(int i) const { return data.data() + static_cast<size_t>(i) * n_vocab; }
  float* row(int i) { return data.data() + static_cast<size_t>(i) * n_vocab; }
};

}  // namespace sgp::model
