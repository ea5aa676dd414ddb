// Launchers for the memory-bound per-token kernels: embedding, residual+RMSNorm, SiLU·mul, fills.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace sgp::cuda {

using bf16 = __nv_bfloat16;

// x[t, :] = float(embed[tokens[t], :])
void embed_tokens(const bf16* embed, const int* tokens, float* x, int n_tokens, int n_embd,
                  cudaStream_t stream);

// For each output row r (source row s = rows ? rows[r] : r): x[s] += delta[s] (if delta),
// out[r] = bf16(x[s] / rms(x[s]) * weight). The residual stream stays fp32.
void add_rms_norm(float* x, const bf16* delta, const bf16* weight, bf16* out, const int* rows,
                  int n_rows, int n_embd, float eps, cudaStream_t stream);

// gate_up is [n_tokens, 2*n_ff] (gate first); out[t, i] = silu(gate) * up.
void silu_mul(const bf16* gate_up, bf16* out, int n_tokens, int n_ff, cudaStream_t stream);

// Deterministic uniform(-bound, bound) from (seed, index): random weights built in place.
void fill_uniform(bf16* p, size_t n, float bound, uint64_t seed, cudaStream_t stream);
void fill_value(bf16* p, size_t n, float value, cudaStream_t stream);

}  // namespace sgp::cuda
