// doctest main for GPU tests: exits with 77 (ctest's SKIP_RETURN_CODE) when no GPU is present.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "kernels/cuda/cuda_backend.h"

int main(int argc, char** argv) {
  if (!sgp::model::cuda_device_available()) {
    std::printf("SKIPPED: no CUDA device is visible (cudaGetDeviceCount found none)\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
