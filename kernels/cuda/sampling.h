// Token sampling on the device: greedy, temperature and min-p draws over fp32 logits rows, so that
// only the chosen token crosses back to the host (model::RowSample's rule).
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

}  // namespace sgp::cuda
