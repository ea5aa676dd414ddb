// Gemm: cuBLAS matrix products y = x · wᵀ for row-major activations and nn.Linear-layout weights.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace sgp::cuda {

class Gemm {
 public:
  explicit Gemm(cudaStream_t stream);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // x: [m, k] bf16, w: [n, k] bf16 (row-major, as nn.Linear stores it), y: [m, n].
  void bf16_out(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int m, int n,
                int k);
  void f32_out(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int m, int n, int k);
  // Products with at most kSkinnyDispatchRows rows go to the GEMV kernel unless this is off
  // (see skinny_gemm.h for the measured crossover).
  void set_skinny(bool on) { skinny_ = on; }
  bool skinny() const { return skinny_; }

 private:
  void run(const void* x, const void* w, void* y, cudaDataType y_type, int m, int n, int k);
  cublasHandle_t handle_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* workspace_ = nullptr;
  bool skinny_ = true;
};

}  // namespace sgp::cuda
