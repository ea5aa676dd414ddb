// Formatting of CUDA/cuBLAS failures into sgp::Error messages.
#include "kernels/cuda/cuda_check.h"

#include <string>

namespace sgp::cuda {

void throw_cuda_error(cudaError_t status, const char* what, const char* file, int line) {
  // Clear a non-sticky error (an allocation failure) so the context stays usable.
  cudaGetLastError();
  std::string msg = status == cudaErrorMemoryAllocation ? "out of GPU memory: " : "CUDA error: ";
  msg += cudaGetErrorString(status);
  msg += " (" + std::string(what) + " at " + file + ":" + std::to_string(line) + ")";
  throw Error(msg);
}

void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
  std::string msg =
      status == CUBLAS_STATUS_ALLOC_FAILED ? "out of GPU memory in cuBLAS: " : "cuBLAS error: ";
  msg += cublasGetStatusString(status);
  msg += " (" + std::string(what) + " at " + file + ":" + std::to_string(line) + ")";
  throw Error(msg);
}

}  // namespace sgp::cuda
