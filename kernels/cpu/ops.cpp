// RMSNorm, SiLU-gated product, softmax and rotary embeddings (normal, linear, llama3 scaling).
#include "kernels/cpu/ops.h"

#include <cmath>

#include "sgp/error.h"

namespace sgp::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

Rope::Rope(const RopeParams& p) : p_(p) {
  if (p.head_dim <= 0 || p.head_dim % 2 != 0) throw Error("rope: head dimension must be even");
  const int half = p.head_dim / 2;
  inv_freq_.resize(half);
  if (!p.freq_factors.empty() && static_cast<int>(p.freq_factors.size()) != half) {
    throw Error("rope: frequency factor table has the wrong length");
  }
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(static_cast<double>(p.theta), 2.0 * i / p.head_dim);
    if (p.scaling == "linear") {
      f /= p.factor;
    } else if (p.scaling == "llama3") {
      double low_wavelen = p.original_max_position / p.low_freq_factor;
      double high_wavelen = p.original_max_position / p.high_freq_factor;
      double wavelen = 2.0 * pi / f;
      if (wavelen > low_wavelen) {
        f /= p.factor;
      } else if (wavelen >= high_wavelen) {
        double smooth = (p.original_max_position / wavelen - p.low_freq_factor) /
                        (p.high_freq_factor - p.low_freq_factor);
        f = (1.0 - smooth) * f / p.factor + smooth * f;
      }
    } else if (!p.scaling.empty()) {
      throw Error("unsupported rope scaling '" + p.scaling + "' (none, linear, llama3)");
    }
    if (!p.freq_factors.empty()) f /= p.freq_factors[i];
    inv_freq_[i] = f;
  }
}

void Rope::angles(int64_t pos, float* cos_out, float* sin_out) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    double a = static_cast<double>(pos) * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(a));
    sin_out[i] = static_cast<float>(std::sin(a));
  }
}

void Rope::apply(float* x, int n_heads, const float* c, const float* s) const {
  const int hd = p_.head_dim, half = hd / 2;
  for (int h = 0; h < n_heads; ++h, x += hd) {
    for (int i = 0; i < half; ++i) {
      float* a = p_.interleaved ? &x[2 * i] : &x[i];
      float* b = p_.interleaved ? &x[2 * i + 1] : &x[i + half];
      float x0 = *a, x1 = *b;
      *a = x0 * c[i] - x1 * s[i];
      *b = x0 * s[i] + x1 * c[i];
    }
  }
}

}  // namespace sgp::kernels
