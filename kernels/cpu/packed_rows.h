// PackedRows: Q4_0/Q4_1/Q8_0 weight rows interleaved 8 at a time for the AVX2 integer kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/quant_dot.h"

namespace sgp::kernels {

// Eight rows share each 32-element block position: one broadcast activation load then serves
// all eight, and each row's sum lands in its own lane (no horizontal adds, no shuffles).
constexpr int kPackRows = 8;

// Bytes of one packed block (8 rows x 32 elements), 0 for a type that is never packed:
// Q4_0/Q4_1: 8 fp16 scales, 8 fp16 minimums, 128 bytes of nibbles (160);
// Q8_0: 8 fp16 scales, 256 bytes of int8 values (272).
size_t packed_block_bytes(uint32_t type);

// Whether pack_rows handles this weight (type Q4_0, Q4_1 or Q8_0, rows a multiple of 8) and the
// build has the kernels (AVX2, FMA and F16C); otherwise the row-at-a-time kernels serve it.
bool packable(uint32_t type, int64_t rows, int64_t cols);
inline size_t packed_bytes(uint32_t type, int64_t rows, int64_t cols) {
  return static_cast<size_t>(rows / kPackRows) * static_cast<size_t>(cols / 32) *
         packed_block_bytes(type);
}
// Writes packed_bytes(type, rows, cols) bytes: groups of 8 rows, each group's blocks in order.
void pack_rows(uint32_t type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols,
               uint8_t* out);
// The inverse for one row: writes row `r` in its original GGML layout (cols / 32 blocks) to
// `out`, so a packed copy can stand in for the source (embedding rows of a tied head).
void unpack_row(uint32_t type, const uint8_t* packed, int64_t cols, int64_t r, uint8_t* out);

// Dots of n_groups consecutive packed groups (8 rows of nb blocks each) with n_tok activation
// rows (a holds n_tok rows of nb blocks): out[t * out_stride + 8 * k + r] for row r of group k.
// As with ActDotFn, a token's results do not depend on n_tok or on the other tokens.
using PackedDotFn = void (*)(const uint8_t* groups, int64_t n_groups, const ActBlock* a, int64_t nb,
                             int n_tok, float* out, int64_t out_stride);
PackedDotFn packed_dot_for(uint32_t type);

}  // namespace sgp::kernels
