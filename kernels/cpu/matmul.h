// Matmul of float activations with (possibly quantized) weight matrices, split over a ThreadPool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/quant_dot.h"
#include "kernels/cpu/thread_pool.h"

namespace sgp::kernels {

// A weight matrix [rows, cols] in a GGML type; each row is `row_bytes` bytes, rows contiguous.
struct WeightView {
  uint32_t type = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;
  // The same rows in PackedRows layout (packed_rows.h) where the backend made that copy.
  const uint8_t* packed = nullptr;
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
};

// y[t * ldy + r] = dot(W row r, x row t) (+ bias[r]) for every row r and token t.
struct MatmulJob {
  const WeightView* w;
  float* y;
  int64_t ldy;
  const float* bias = nullptr;
};

// Reusable buffers (quantized activations, dequantized weight rows), grown on demand.
struct MatmulScratch {
  std::vector<ActBlock> xq;
  std::vector<std::vector<float>> rows;     // per thread
  std::vector<int64_t> first_unit, bounds;  // the current call's job offsets and task plan
};

// Runs every job over the same activations x [n_tok, cols] in one parallel pass.
void matmul(ThreadPool& pool, MatmulScratch& scratch, const float* x, int n_tok,
            const MatmulJob* jobs, int n_jobs);

}  // namespace sgp::kernels
