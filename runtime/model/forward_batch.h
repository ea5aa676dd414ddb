// ForwardBatch and Logits: the hand-off between the engine's scheduler and a backend's forward.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace sgp::model {

enum class LogitsMode : uint8_t { None, Last, All };

// A token the backend may draw itself (Backend::samples_on_device), so that only the token (and
// its logprobs) crosses back to the host. The rule is the engine's Sampler (engine::sample_row is
// its host form; see runtime/engine/sampler.h), whose inputs are all here:
//  1. penalties on the listed tokens: repetition (x/r when x > 0, else x*r) on every one, then
//     x -= frequency * count + presence on those with count > 0;
//  2. masks: with `allowed` non-empty a token outside it is -inf unless it is in `also_allowed`
//     (which then keeps its raw logit, unpenalized); `banned` tokens are -inf;
//  3. greedy (lowest id among equal maxima) when temperature <= 0; else the candidates (finite
//     logits) get weights exp((x - max) / temperature); with top_k > 0 and fewer than them,
//     the k best by (logit desc, id asc); with min_p > 0 those of weight >= min_p; with
//     top_p < 1, in (logit desc, id asc) order, the shortest prefix whose weight reaches
//     top_p * total. The draw walks the kept tokens in that order (in id order when neither
//     top-k cut nor top-p applies) and picks the first where u * total falls.
struct TokenCount {
  int32_t token = 0;
  int32_t count = 0;  // times in the output so far (0: only in the prompt)
};

struct RowSample {
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  double u = 0.0;  // uniform in [0, 1), drawn by the request's own RNG
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  std::vector<TokenCount> penalized;  // sorted by token, unique
  std::vector<uint64_t> allowed;      // bit per token; empty: every token
  std::vector<int32_t> also_allowed;
  std::vector<int32_t> banned;
  // > 0: also return the chosen token's log-probability and the top `logprobs` (of the raw
  // logits' log-softmax, best first, ties by id) in Logits::sampled_logprob/sampled_top.
  int logprobs = 0;
  static constexpr int kMaxLogprobs = 32;  // the most a backend draws with (else: the host)
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
  // >= 0 (only on a backend that overlaps()): the chunk's last token is not known on the host
  // yet; it is the token the backend drew on the device for this row of the step launched just
  // before this one (whose value in `tokens` is then a placeholder, -1).
  int32_t input_from_prev_row = -1;
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
// (else -1; kNoToken when the row's masks left no token) or their log-probability in
// `target_logprobs`, and unspecified data; when every row is, `data` may be empty.
struct Logits {
  static constexpr int32_t kNoToken = -2;
  int n_rows = 0;
  int n_vocab = 0;
  std::vector<float> data;
  std::vector<int32_t> sampled;  // per row; empty when no row was sampled on the device
  // Per row, log_softmax(row)[target] for rows given SeqChunk::row_targets (else NaN); empty
  // when none was asked for.
  std::vector<float> target_logprobs;
  // Per row drawn on the device with RowSample::logprobs > 0 (else NaN / empty): the drawn
  // token's log-probability and the top alternatives. Empty when no row asked.
  std::vector<float> sampled_logprob;
  std::vector<std::vector<std::pair<int32_t, float>>> sampled_top;
  const float* row(int i) const { return data.data() + static_cast<size_t>(i) * n_vocab; }
  float* row(int i) { return data.data() + static_cast<size_t>(i) * n_vocab; }
};

}  // namespace sgp::model
