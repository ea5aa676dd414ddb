// cuBLAS GEMMs with fp32 accumulation over bf16 operands.
#include "kernels/cuda/gemm.h"

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/skinny_gemm.h"

namespace sgp::cuda {
namespace {
constexpr size_t kWorkspaceBytes = size_t(32) << 20;  // cuBLAS's recommendation for Hopper
}  // namespace

Gemm::Gemm(cudaStream_t stream) : stream_(stream) {
  SGP_CUBLAS_CHECK(cublasCreate(&handle_));
  SGP_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  // A workspace of our own (after cublasSetStream, which resets it): cuBLAS then never allocates
  // inside a CUDA graph capture, and picks the same algorithms eagerly and captured.
  SGP_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  SGP_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, kWorkspaceBytes));
}

Gemm::~Gemm() {
  if (handle_) cublasDestroy(handle_);
  if (workspace_) cudaFree(workspace_);
}

void Gemm::bf16_out(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int m, int n,
                    int k) {
  if (skinny_ && m <= kSkinnyDispatchRows && k % 8 == 0)
    return skinny_gemm(x, w, y, nullptr, m, n, k, stream_);
  run(x, w, y, CUDA_R_16BF, m, n, k);
}

void Gemm::f32_out(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, int m, int n, int k) {
  if (skinny_ && m <= kSkinnyDispatchRows && k % 8 == 0)
    return skinny_gemm(x, w, nullptr, y, m, n, k, stream_);
  run(x, w, y, CUDA_R_32F, m, n, k);
}

void Gemm::run(const void* x, const void* w, void* y, cudaDataType y_type, int m, int n, int k) {
  if (m == 0) return;
  const float alpha = 1.f, beta = 0.f;
  // Column-major view: yᵀ [n, m] = (w as k×n)ᵀ · (x as k×m).
  SGP_CUBLAS_CHECK(cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, CUDA_R_16BF,
                                k, x, CUDA_R_16BF, k, &beta, y, y_type, n, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT));
}

}  // namespace sgp::cuda
