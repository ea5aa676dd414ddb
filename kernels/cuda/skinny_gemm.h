// Launcher for y = x · wᵀ with few rows of x (decode batches): a bandwidth-bound GEMV kernel.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace sgp::cuda {

constexpr int kSkinnyMaxRows = 8;
// Gemm uses the kernel up to this many rows. Measured on the H100 (4ebeebd): at 1 row it beats
// cuBLAS on every Llama-3-8B shape (0.59-1.03 vs 0.39-0.91 of copy bandwidth); at 4 rows cuBLAS
// wins on the large matrices (0.83 vs 0.73). 2 rows is not measured.
constexpr int kSkinnyDispatchRows = 2;

// x: [m, k] bf16, w: [n, k] bf16, y: [m, n] as bf16 (y_f32 == nullptr) or fp32.
// Requires m <= kSkinnyMaxRows and k % 8 == 0 with 16-byte aligned rows.
void skinny_gemm(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y_bf16,
                 float* y_f32, int m, int n, int k, cudaStream_t stream);

}  // namespace sgp::cuda
