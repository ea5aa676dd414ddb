// Input tokens that the previous step drew on the device, copied into a step's token array.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/future_tokens.h"

namespace sgp::cuda {

namespace {
__global__ void copy_drawn_kernel(int* tokens, const FutureToken* futures, int n,
                                  const int32_t* drawn) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  // A draw that found no token (-1) ends its request on the host; its row here only must not
  // read outside the embedding table.
  if (i < n) tokens[futures[i].slot] = max(drawn[futures[i].draw], 0);
}
}  // namespace

void copy_drawn_tokens(int* tokens, const FutureToken* futures, int n, const int32_t* drawn,
                       cudaStream_t stream) {
  if (n <= 0) return;
  copy_drawn_kernel<<<(n + 255) / 256, 256, 0, stream>>>(tokens, futures, n, drawn);
  SGP_CUDA_CHECK_LAUNCH();
}

}  // namespace sgp::cuda
