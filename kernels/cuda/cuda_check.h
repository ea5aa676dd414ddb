// CUDA and cuBLAS status checks that turn failures into sgp::Error.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "sgp/error.h"

namespace sgp::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* what, const char* file,
                                   int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* what, const char* file,
                                     int line);

}  // namespace sgp::cuda

#define SGP_CUDA_CHECK(expr)                                                 \
  do {                                                                       \
    cudaError_t sgp_status_ = (expr);                                        \
    if (sgp_status_ != cudaSuccess)                                          \
      ::sgp::cuda::throw_cuda_error(sgp_status_, #expr, __FILE__, __LINE__); \
  } while (0)

#define SGP_CUBLAS_CHECK(expr)                                                 \
  do {                                                                         \
    cublasStatus_t sgp_status_ = (expr);                                       \
    if (sgp_status_ != CUBLAS_STATUS_SUCCESS)                                  \
      ::sgp::cuda::throw_cublas_error(sgp_status_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: a bad configuration shows up here, not at the next sync.
#define SGP_CUDA_CHECK_LAUNCH() SGP_CUDA_CHECK(cudaGetLastError())
