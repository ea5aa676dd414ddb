// Token sampling and scoring on the device: greedy, temperature and min-p draws over fp32 logits
// rows (model::RowSample's rule) and single-token log-probabilities, so that only the token or
// the value crosses back to the host.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace sgp::cuda {

// One row to draw from. Same fields and rule as model::RowSample (runtime/model/forward_batch.h).
struct RowDraw {
  int row = 0;  // logits row
  float temperature = 0.0f;
  float min_p = 0.0f;
  double u = 0.0;
};

// out[i] = the token drawn for draws[i] from logits[draws[i].row * n_vocab ...]; one block per
// draw. `draws` and `out` are device pointers.
void sample_rows(const float* logits, int n_vocab, const RowDraw* draws, int n_draws, int32_t* out,
                 cudaStream_t stream);

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
