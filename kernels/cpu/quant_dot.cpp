// Integer dot products of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights with int16 activations (AVX2 or scalar).
#include "kernels/cpu/quant_dot.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/fp16.h"
#include "model/gguf_file.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SGP_AVX2 1
#endif

namespace sgp::kernels {
namespace {

using model::GgmlType;

inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_float(h);
}

// Block layouts: where d, m, qh and qs sit, and the offset subtracted from the stored value
// (folded into m = -offset * d for the unsigned-nibble formats).
template <GgmlType T>
struct Layout;
template <>
struct Layout<GgmlType::Q4_0> {
  static constexpr int bytes = 18, qs = 2, qh = -1, offset = 8;
  static constexpr bool has_m = false;
};
template <>
struct Layout<GgmlType::Q4_1> {
  static constexpr int bytes = 20, qs = 4, qh = -1, offset = 0;
  static constexpr bool has_m = true;
};
template <>
struct Layout<GgmlType::Q5_0> {
  static constexpr int bytes = 22, qs = 6, qh = 2, offset = 16;
  static constexpr bool has_m = false;
};
template <>
struct Layout<GgmlType::Q5_1> {
  static constexpr int bytes = 24, qs = 8, qh = 4, offset = 0;
  static constexpr bool has_m = true;
};

#if SGP_AVX2
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Bit i of the 32-bit word -> 0x10 in byte i.
inline __m256i bits_to_0x10(uint32_t qh) {
  const __m256i shuf =
      _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  const __m256i mask = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), shuf);
  b = _mm256_cmpeq_epi8(_mm256_and_si256(b, mask), mask);
  return _mm256_and_si256(b, _mm256_set1_epi8(0x10));
}

// Sum of w[i] * a[i] over 32 int16 lanes pairs: products fit int32 (|w| <= 128, |a| <= 32767).
inline __m256i madd32(__m256i w0, __m256i w1, const int16_t* a) {
  __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 16));
  return _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
}

template <GgmlType T>
float dot_nibbles(const uint8_t* w, const ActBlock* a, int64_t nb) {
  using L = Layout<T>;
  const __m128i low4 = _mm_set1_epi8(0x0F);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  float offs = 0.0f;
  for (int64_t i = 0; i < nb; ++i, w += L::bytes) {
    __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + L::qs));
    __m128i lo = _mm_and_si128(raw, low4);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), low4);
    if constexpr (L::qh >= 0) {
      uint32_t qh;
      std::memcpy(&qh, w + L::qh, 4);
      __m256i hb = bits_to_0x10(qh);
      lo = _mm_or_si128(lo, _mm256_castsi256_si128(hb));
      hi = _mm_or_si128(hi, _mm256_extracti128_si256(hb, 1));
    }
    __m256i p = madd32(_mm256_cvtepu8_epi16(lo), _mm256_cvtepu8_epi16(hi), a[i].q);
    float d = h2f(w);
    float m = L::has_m ? h2f(w + 2) : -static_cast<float>(L::offset) * d;
    __m256 scale = _mm256_set1_ps(d * a[i].d);
    if (i & 1) {
      acc1 = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc1);
    } else {
      acc0 = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc0);
    }
    offs += m * a[i].s;
  }
  return hsum(_mm256_add_ps(acc0, acc1)) + offs;
}

float dot_q8_0(const uint8_t* w, const ActBlock* a, int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, w += 34) {
    __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2)));
    __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 18)));
    __m256i p = madd32(w0, w1, a[i].q);
    __m256 scale = _mm256_set1_ps(h2f(w) * a[i].d);
    if (i & 1) {
      acc1 = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc1);
    } else {
      acc0 = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc0);
    }
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}
#else
template <GgmlType T>
float dot_nibbles(const uint8_t* w, const ActBlock* a, int64_t nb) {
  using L = Layout<T>;
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i, w += L::bytes) {
    const uint8_t* qs = w + L::qs;
    uint32_t qh = 0;
    if constexpr (L::qh >= 0) std::memcpy(&qh, w + L::qh, 4);
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) {
      int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      isum += lo * a[i].q[j] + hi * a[i].q[j + 16];
    }
    float d = h2f(w);
    float m = L::has_m ? h2f(w + 2) : -static_cast<float>(L::offset) * d;
    sum += d * a[i].d * static_cast<float>(isum) + m * a[i].s;
  }
  return sum;
}

float dot_q8_0(const uint8_t* w, const ActBlock* a, int64_t nb) {
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i, w += 34) {
    const auto* q = reinterpret_cast<const int8_t*>(w + 2);
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += q[j] * a[i].q[j];
    sum += h2f(w) * a[i].d * static_cast<float>(isum);
  }
  return sum;
}
#endif

}  // namespace

void quantize_activations(const float* x, ActBlock* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    float d = amax / 32767.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      int q = static_cast<int>(std::nearbyint(x[j] * id));
      out[b].q[j] = static_cast<int16_t>(q);
      sum += q;
    }
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

ActDotFn act_dot_for(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q4_0:
      return dot_nibbles<GgmlType::Q4_0>;
    case GgmlType::Q4_1:
      return dot_nibbles<GgmlType::Q4_1>;
    case GgmlType::Q5_0:
      return dot_nibbles<GgmlType::Q5_0>;
    case GgmlType::Q5_1:
      return dot_nibbles<GgmlType::Q5_1>;
    case GgmlType::Q8_0:
      return dot_q8_0;
    default:
      return nullptr;
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float sum = 0.0f;
#if SGP_AVX2
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  sum = hsum(_mm256_add_ps(s0, s1));
#endif
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if SGP_AVX2
  __m256 av = _mm256_set1_ps(a);
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
#endif
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace sgp::kernels
