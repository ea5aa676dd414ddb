// RMSNorm, SiLU-gated product, softmax and rotary embeddings (normal, linear, llama3 scaling).
#include "kernels/cpu/ops.h"

#include <cmath>

#include "kernels/cpu/vec_f32.h"
#include "sgp/error.h"

namespace sgp::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

namespace {

#if SGP_AVX2
// e^x for 8 lanes: x = n ln2 + r with |r| <= ln2 / 2, e^r by its degree-7 Taylor polynomial
// (truncation below 1e-8 relative), times 2^n built in the exponent bits. Inputs are clamped to
// [-87, 88], where 2^n stays a normal float.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln 2 in two parts: n * hi is exact, so r keeps its low bits.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) {
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  }
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Calls f(offset, count) over n elements 8 at a time; the last partial group is handed over
// padded (count < 8), so callers route every element through the same vector code whatever n is
// (results then do not depend on where an element sits in a batch).
template <typename F>
void by8(int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) f(i, 8);
  if (i < n) f(i, static_cast<int>(n - i));
}

inline __m256 load_part(const float* p, int count, float pad) {
  if (count == 8) return _mm256_loadu_ps(p);
  alignas(32) float b[8];
  for (int j = 0; j < 8; ++j) b[j] = j < count ? p[j] : pad;
  return _mm256_load_ps(b);
}
inline void store_part(float* p, __m256 v, int count) {
  if (count == 8) return _mm256_storeu_ps(p, v);
  alignas(32) float b[8];
  _mm256_store_ps(b, v);
  for (int j = 0; j < count; ++j) p[j] = b[j];
}
#endif

}  // namespace

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
#if SGP_AVX2
  by8(n, [&](int64_t i, int count) {
    const __m256 g = load_part(gate + i, count, 0.0f);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    store_part(out + i, _mm256_mul_ps(s, load_part(up + i, count, 0.0f)), count);
  });
#else
  for (int64_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
#endif
}

void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
#if SGP_AVX2
  // Padding lanes (x = mx) are dropped before the sum.
  __m256 sum8 = _mm256_setzero_ps();
  const __m256 m = _mm256_set1_ps(mx);
  by8(n, [&](int64_t i, int count) {
    __m256 e = exp8(_mm256_sub_ps(load_part(x + i, count, mx), m));
    store_part(x + i, e, count);
    if (count < 8) e = load_part(x + i, count, 0.0f);
    sum8 = _mm256_add_ps(sum8, e);
  });
  const float sum = hsum(sum8);
#else
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
#endif
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
