// ForwardBatch and Logits: the hand-off between the engine's scheduler and a backend's forward.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace sgp::model {

enum class LogitsMode : uint8_t { None, Last, All };

// A token draw the backend may make itself (Backend::samples_on_device), so that only the token
// crosses back to the host. Same rule as the engine's Sampler without penalties, masks or top-k/
// top-p: greedy (lowest id among equal maxima) when temperature <= 0; else walk the ids in order
// over the weights exp((x - max) / temperature), keeping those >= min_p (relative to the most
// likely token), and pick the first where u * total falls.
struct RowSample {
  float temperature = 0.0f;
  float min_p = 0.0f;
  double u = 0.0;  // uniform in [0, 1), drawn by the request's own RNG
};

// One sequence's slice of a ragged batch: a prefill chunk (many tokens) or a decode (one).
struct SeqChunk {
  SeqChunk() = default;
  // The common four fields, so brace lists name them without the device-only ones below.
  SeqChunk(std::vector<int32_t> t, int32_t start, std::vector<int32_t> p,
           LogitsMode l = LogitsMode::Last)
      : tokens(std::move(t)), start_pos(start), pages(std::move(p)), logits(l) {}

  std::vector<int32_t> tokens;  // new tokens to run through the model
  int32_t start_pos = 0;        // position of tokens[0]; KV for [0, start_pos) is already cached
  // Page table: pages[i] holds the KV of positions [i*page_size, (i+1)*page_size). It covers
  // every position up to start_pos + tokens.size(); the forward writes the new tokens' K/V.
  std::vector<int32_t> pages;
  LogitsMode logits = LogitsMode::Last;
  // With LogitsMode::Last on a backend that samples on the device: draw the token there.
  bool sample_on_device = false;
  RowSample sample;
  // With LogitsMode::All on a backend that scores on the device: per token, the id whose
  // log-probability its row should give (-1: none needed). Only those values come back.
  std::vector<int32_t> row_targets;
};

struct ForwardBatch {
  std::vector<SeqChunk> seqs;
  int n_tokens() const {
    int n = 0;
    for (const auto& s : seqs) n += static_cast<int>(s.tokens.size());
    return n;
  }
};

// Row-major [n_rows, n_vocab]. Rows follow the batch order: for each sequence, one row (Last), one
// per token (All), or none. Rows sampled or scored on the device have their token in `sampled`
// (else -1) or their log-probability in `target_logprobs`, and unspecified data; when every row
// is, `data` may be empty.
struct Logits {
  int n_rows = 0;
  int n_vocab = 0;
  std::vector<float> data;
  std::vector<int32_t> sampled;  // per row; empty when no row was sampled on the device
  // Per row, log_softmax(row)[target] for rows given SeqChunk::row_targets (else NaN); empty
  // when none was asked for.
  std::vector<float> target_logprobs;
  const float* row(int i) const { return data.data() + static_cast<size_t>(i) * n_vocab; }
  float* row(int i) { return data.data() + static_cast<size_t>(i) * n_vocab; }
};

}  // namespace sgp::model
