// PackedRows: Q4_0/Q4_1 weight rows interleaved 8 at a time for the AVX2 integer kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/quant_dot.h"

namespace sgp::kernels {

// Eight rows share each 32-element block position: one broadcast activation load then serves
// all eight, and each row's sum lands in its own lane (no horizontal adds, no shuffles).
constexpr int kPackRows = 8;
// Per 8 rows x 32 elements: 8 fp16 scales, 8 fp16 minimums, 128 bytes of nibbles.
constexpr size_t kPackedBlockBytes = 160;

// Whether pack_rows handles this weight (type Q4_0 or Q4_1, rows a multiple of 8) and the
// build has the kernel (AVX2, FMA and F16C); otherwise the row-at-a-time kernels serve it.
bool packable(uint32_t type, int64_t rows, int64_t cols);
inline size_t packed_bytes(int64_t rows, int64_t cols) {
  return static_cast<size_t>(rows / kPackRows) * static_cast<size_t>(cols / 32) * kPackedBlockBytes;
}
// Writes packed_bytes(rows, cols) bytes: groups of 8 rows, each group's blocks in order.
void pack_rows(uint32_t type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols,
               uint8_t* out);

// Dots of one packed group (8 rows of nb blocks) with n_tok activation rows (a holds n_tok rows
// of nb blocks): out[t * out_stride + r] for row r of the group. As with ActDotFn, a token's
// results do not depend on n_tok or on the other tokens.
using PackedDotFn = void (*)(const uint8_t* group, const ActBlock* a, int64_t nb, int n_tok,
                             float* out, int64_t out_stride);
PackedDotFn packed_dot_for(uint32_t type);

}  // namespace sgp::kernels
