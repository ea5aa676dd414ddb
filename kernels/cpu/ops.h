// Element-wise and per-row operations of a Llama-family forward: RMSNorm, RoPE, SiLU, softmax.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgp::kernels {

// y = x / sqrt(mean(x^2) + eps) * w   (y may alias x)
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// out[i] = silu(gate[i]) * up[i]
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// In place: x = exp(x - max) / sum
void softmax(float* x, int64_t n);

// Rotary position embedding tables for one model.
struct RopeParams {
  int head_dim = 0;
  float theta = 10000.0f;
  std::string scaling;  // "", "linear", "llama3"
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position = 8192;
  // Adjacent pairs (x[2i], x[2i+1]) rotate together (GGUF llama weights) instead of halves
  // (x[i], x[i + head_dim/2]) as in Hugging Face weights.
  bool interleaved = false;
  // Per-frequency divisors stored in some GGUF files (rope_freqs.weight, Llama 3.1+); empty: none.
  std::vector<float> freq_factors;
};

class Rope {
 public:
  explicit Rope(const RopeParams& p);
  // Fills cos/sin [head_dim / 2] for a position.
  void angles(int64_t pos, float* cos_out, float* sin_out) const;
  // Rotates n_heads vectors of head_dim at x with precomputed angles.
  void apply(float* x, int n_heads, const float* cos_v, const float* sin_v) const;
  int head_dim() const { return p_.head_dim; }

 private:
  RopeParams p_;
  std::vector<double> inv_freq_;
};

}  // namespace sgp::kernels
