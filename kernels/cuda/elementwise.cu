// Memory-bound per-token kernels: embedding, residual+RMSNorm, SiLU·mul, fills.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"

namespace sgp::cuda {
namespace {

__global__ void embed_kernel(const bf16* embed, const int* tokens, float* x, int n_embd) {
  const int t = blockIdx.x;
  const bf16* src = embed + static_cast<size_t>(tokens[t]) * n_embd;
  float* dst = x + static_cast<size_t>(t) * n_embd;
  for (int i = threadIdx.x; i < n_embd; i += blockDim.x) dst[i] = __bfloat162float(src[i]);
}

constexpr int kNormThreads = 256;

__global__ void add_rms_norm_kernel(float* x, const bf16* delta, const bf16* weight, bf16* out,
                                    const int* rows, int n_embd, float eps) {
  const int r = blockIdx.x;
  const int s = rows ? rows[r] : r;
  float* xr = x + static_cast<size_t>(s) * n_embd;
  const bf16* dr = delta ? delta + static_cast<size_t>(s) * n_embd : nullptr;
  float ss = 0.f;
  for (int i = threadIdx.x; i < n_embd; i += kNormThreads) {
    float v = xr[i];
    if (dr) {
      v += __bfloat162float(dr[i]);
      xr[i] = v;
    }
    ss += v * v;
  }
  __shared__ float warp_sums[kNormThreads / 32];
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = ss;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kNormThreads / 32; ++w) total += warp_sums[w];
  const float inv = rsqrtf(total / n_embd + eps);
  bf16* o = out + static_cast<size_t>(r) * n_embd;
  // Each thread re-reads only the elements it wrote itself: no barrier needed.
  for (int i = threadIdx.x; i < n_embd; i += kNormThreads)
    o[i] = __float2bfloat16(xr[i] * inv * __bfloat162float(weight[i]));
}

__global__ void silu_mul_kernel(const bf16* gate_up, bf16* out, int n_ff, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t t = i / n_ff, j = i % n_ff;
    const float g = __bfloat162float(gate_up[t * 2 * n_ff + j]);
    const float u = __bfloat162float(gate_up[t * 2 * n_ff + n_ff + j]);
    out[i] = __float2bfloat16(g / (1.f + __expf(-g)) * u);
  }
}

__device__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

__global__ void fill_uniform_kernel(bf16* p, size_t n, float bound, uint64_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const uint64_t h = mix64(seed * 0x9e3779b97f4a7c15ull + i);
    const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    p[i] = __float2bfloat16((2.f * u - 1.f) * bound);
  }
}

__global__ void fill_value_kernel(bf16* p, size_t n, float value) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = __float2bfloat16(value);
}

int grid_for(size_t n) {
  const size_t blocks = (n + 255) / 256;
  return static_cast<int>(blocks < 65536 ? (blocks ? blocks : 1) : 65536);
}

}  // namespace

void embed_tokens(const bf16* embed, const int* tokens, float* x, int n_tokens, int n_embd,
                  cudaStream_t stream) {
  if (n_tokens == 0) return;
  embed_kernel<<<n_tokens, 256, 0, stream>>>(embed, tokens, x, n_embd);
  SGP_CUDA_CHECK_LAUNCH();
}

void add_rms_norm(float* x, const bf16* delta, const bf16* weight, bf16* out, const int* rows,
                  int n_rows, int n_embd, float eps, cudaStream_t stream) {
  if (n_rows == 0) return;
  add_rms_norm_kernel<<<n_rows, kNormThreads, 0, stream>>>(x, delta, weight, out, rows, n_embd,
                                                           eps);
  SGP_CUDA_CHECK_LAUNCH();
}

void silu_mul(const bf16* gate_up, bf16* out, int n_tokens, int n_ff, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(n_tokens) * n_ff;
  if (n == 0) return;
  silu_mul_kernel<<<grid_for(n), 256, 0, stream>>>(gate_up, out, n_ff, n);
  SGP_CUDA_CHECK_LAUNCH();
}

void fill_uniform(bf16* p, size_t n, float bound, uint64_t seed, cudaStream_t stream) {
  if (n == 0) return;
  fill_uniform_kernel<<<grid_for(n), 256, 0, stream>>>(p, n, bound, seed);
  SGP_CUDA_CHECK_LAUNCH();
}

void fill_value(bf16* p, size_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  fill_value_kernel<<<grid_for(n), 256, 0, stream>>>(p, n, value);
  SGP_CUDA_CHECK_LAUNCH();
}

}  // namespace sgp::cuda
