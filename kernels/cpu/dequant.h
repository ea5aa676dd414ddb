// Dequantization of GGML block formats to float32.
#pragma once

#include <cstdint>

namespace sgp::kernels {

// Expands n elements (a whole number of blocks) of `type` at src into dst.
// Throws sgp::Error naming the type if it is not one we read.
void dequantize_row(uint32_t type, const void* src, float* dst, int64_t n);

// Throws sgp::Error naming the type unless dequantize_row / matmul support it.
void require_supported(uint32_t type, const char* what);

}  // namespace sgp::kernels
