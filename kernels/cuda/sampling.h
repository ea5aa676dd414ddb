// Token sampling and scoring on the device: model::RowSample draws (penalties, masks, greedy,
// temperature, top-k/top-p/min-p, logprobs) over fp32 logits rows and single-token
// log-probabilities, so that only the token and the values cross back to the host.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/device_buffer.h"
#include "model/forward_batch.h"

namespace sgp::cuda {

constexpr int kMaxTopLogprobs = model::RowSample::kMaxLogprobs;

// A token whose logit the draw changes: penalized, re-allowed past the mask, or banned.
struct TokenOverride {
  int32_t token = 0;
  int32_t count = 0;   // output count, for the frequency/presence penalties
  uint32_t flags = 0;  // kOverride* below
};
constexpr uint32_t kOverridePenalty = 1, kOverrideAlsoAllowed = 2, kOverrideBanned = 4;

// One row to draw from: model::RowSample with its lists as ranges of DrawBatch's arrays.
struct RowDraw {
  int row = 0;  // logits row
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  int logprobs = 0;  // top-n wanted (0: none), <= kMaxTopLogprobs
  double u = 0.0;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int ov_begin = 0, ov_count = 0;            // DrawBatch::overrides, sorted by token, unique
  int allowed_begin = 0, allowed_words = 0;  // DrawBatch::allowed (0 words: no mask)
};

// A batch's draws staged on the host.
struct DrawBatch {
  std::vector<RowDraw> draws;
  std::vector<TokenOverride> overrides;
  std::vector<uint64_t> allowed;
  bool any_filter = false;  // a row with a top-k cut or top-p (needs the kernel's big scratch)

  void clear();
  // Adds the draw of logits row `row`. Ids outside [0, n_vocab) in the lists are ignored.
  void add(int row, const model::RowSample& s, int n_vocab);
  bool empty() const { return draws.empty(); }
};

// Device pointers of the results, per draw: token (-1 when the mask leaves none), and for
// draws with logprobs its log-probability and the top ids/values (kMaxTopLogprobs per draw).
struct DrawResults {
  int32_t* token = nullptr;
  float* logprob = nullptr;
  int32_t* top_id = nullptr;
  float* top_lp = nullptr;
};

// One block per draw. `draws`, `overrides`, `allowed` are device copies of a DrawBatch's
// arrays; `override_values` is scratch of overrides' size. `full`: some draw has a top-k cut,
// top-p (DrawBatch::any_filter) or logprobs; `any_overrides`: overrides is not empty.
void sample_rows(const float* logits, int n_vocab, const RowDraw* draws, int n_draws,
                 const TokenOverride* overrides, float* override_values, const uint64_t* allowed,
                 bool full, bool any_overrides, const DrawResults& out, cudaStream_t stream);

// The device memory for DrawBatch runs, and their results copied back to pinned host memory.
class DeviceSampler {
 public:
  DeviceSampler() = default;
  ~DeviceSampler();
  DeviceSampler(const DeviceSampler&) = delete;
  DeviceSampler& operator=(const DeviceSampler&) = delete;

  // Uploads `batch`, draws every row of `logits` ([rows, n_vocab] on the device) and queues the
  // copy of the results to the host, all on `stream`; results() reads them once the stream is
  // synchronized.
  void launch(const float* logits, int n_vocab, const DrawBatch& batch, cudaStream_t stream);
  // The drawn tokens on the device, one per draw of the last launch (stream-ordered).
  const int32_t* device_tokens() const { return tok_.data(); }
  // After the stream synchronized: out.sampled (-1 for rows not drawn) and, when a draw asked,
  // out.sampled_logprob / out.sampled_top, for `n_rows` rows.
  void results(const DrawBatch& batch, int n_rows, model::Logits& out) const;

 private:
  void reserve_host(size_t n_draws);

  DeviceBuffer<RowDraw> draws_;
  DeviceBuffer<TokenOverride> ov_;
  DeviceBuffer<float> ov_val_;
  DeviceBuffer<uint64_t> allowed_;
  DeviceBuffer<int32_t> tok_, top_id_;
  DeviceBuffer<float> lp_, top_lp_;
  // Pinned host copies of the results.
  size_t host_cap_ = 0;
  int32_t* h_tok_ = nullptr;
  float* h_lp_ = nullptr;
  int32_t* h_top_id_ = nullptr;
  float* h_top_lp_ = nullptr;
};

// One row whose log-probability of `token` is wanted (a score request's continuation token).
struct RowTarget {
  int row = 0;
  int token = 0;
};

// out[i] = log_softmax(logits[targets[i].row])[targets[i].token], in double like the host's
// engine::log_softmax; one block per target. Device pointers.
void row_logprobs(const float* logits, int n_vocab, const RowTarget* targets, int n_targets,
                  float* out, cudaStream_t stream);

}  // namespace sgp::cuda
