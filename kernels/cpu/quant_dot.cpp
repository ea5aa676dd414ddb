// Integer dot products of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights with int16 activations (AVX2 or scalar).
#include "kernels/cpu/quant_dot.h"

#include <cmath>
#include <cstring>

#include "kernels/cpu/fp16.h"
#include "kernels/cpu/vec_f32.h"
#include "model/gguf_file.h"

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

template <>
struct Layout<GgmlType::Q8_0> {
  static constexpr int bytes = 34, qs = 2, qh = -1, offset = 0;
  static constexpr bool has_m = false;
};

#if SGP_AVX2

// Bit i of the 32-bit word -> 0x10 in byte i.
inline __m256i bits_to_0x10(uint32_t qh) {
  const __m256i shuf =
      _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  const __m256i mask = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), shuf);
  b = _mm256_cmpeq_epi8(_mm256_and_si256(b, mask), mask);
  return _mm256_and_si256(b, _mm256_set1_epi8(0x10));
}

// The 32 stored values of a block as int16 (elements 0-15 in w0, 16-31 in w1).
template <GgmlType T>
inline void unpack(const uint8_t* w, __m256i& w0, __m256i& w1) {
  using L = Layout<T>;
  if constexpr (T == GgmlType::Q8_0) {
    w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2)));
    w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 18)));
  } else {
    const __m128i low4 = _mm_set1_epi8(0x0F);
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
    w0 = _mm256_cvtepu8_epi16(lo);
    w1 = _mm256_cvtepu8_epi16(hi);
  }
}

// Per-token work of one block: sum(w * a) as int32 lanes.
template <GgmlType T>
inline __m256i block_products(__m256i q, __m256i w0, __m256i w1, const ActBlock& ab) {
  if constexpr (T == GgmlType::Q8_0) {
    __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.q));
    __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.q + 16));
    return _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
  } else {
    // Unsigned values <= 31 times a = 256 * hi + lo, with 8-bit multiplies (no widening
    // shuffles): maddubs pairs stay within int16.
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.hi));
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab.lo));
    __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(q, hi), _mm256_set1_epi16(256));
    __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(q, lo), _mm256_set1_epi16(1));
    return _mm256_add_epi32(ph, pl);
  }
}

// The 32 stored values of a nibble block as bytes in element order.
template <GgmlType T>
inline __m256i unpack_bytes(const uint8_t* w) {
  using L = Layout<T>;
  const __m256i shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
  __m256i raw =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + L::qs)));
  __m256i q = _mm256_and_si256(_mm256_srlv_epi32(raw, shift), _mm256_set1_epi8(0x0F));
  if constexpr (L::qh >= 0) {
    uint32_t qh;
    std::memcpy(&qh, w + L::qh, 4);
    q = _mm256_or_si256(q, bits_to_0x10(qh));
  }
  return q;
}

// NT tokens against one weight row: the row's blocks are unpacked once for all of them, and each
// token's sum is formed exactly as it would be alone (batch-invariant results).
template <GgmlType T, int NT>
void dot_rows(const uint8_t* w, const ActBlock* a, int64_t nb, int64_t a_stride, float* out,
              int64_t out_stride) {
  using L = Layout<T>;
  constexpr bool kOffs = L::has_m || L::offset != 0;
  __m256 acc[2][NT];
  float offs[2][NT];
  for (int t = 0; t < NT; ++t) {
    acc[0][t] = acc[1][t] = _mm256_setzero_ps();
    offs[0][t] = offs[1][t] = 0.0f;
  }
  auto block = [&](int64_t i, int k) {
    const uint8_t* wb = w + i * L::bytes;
    __m256i q = _mm256_setzero_si256(), w0 = q, w1 = q;
    if constexpr (T == GgmlType::Q8_0) {
      unpack<T>(wb, w0, w1);
    } else {
      q = unpack_bytes<T>(wb);
    }
    const float d = h2f(wb);
    const float m = L::has_m ? h2f(wb + 2) : -static_cast<float>(L::offset) * d;
    for (int t = 0; t < NT; ++t) {
      const ActBlock& ab = a[t * a_stride + i];
      __m256i p = block_products<T>(q, w0, w1, ab);
      acc[k][t] = _mm256_fmadd_ps(_mm256_set1_ps(d * ab.d), _mm256_cvtepi32_ps(p), acc[k][t]);
      if constexpr (kOffs) offs[k][t] = std::fma(m, ab.s, offs[k][t]);
    }
  };
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    block(i, 0);
    block(i + 1, 1);
  }
  if (i < nb) block(i, 0);
  for (int t = 0; t < NT; ++t) {
    out[t * out_stride] = hsum(_mm256_add_ps(acc[0][t], acc[1][t])) + (offs[0][t] + offs[1][t]);
  }
}
#else
template <GgmlType T, int NT>
void dot_rows(const uint8_t* w, const ActBlock* a, int64_t nb, int64_t a_stride, float* out,
              int64_t out_stride) {
  using L = Layout<T>;
  float sum[NT] = {};
  for (int64_t i = 0; i < nb; ++i, w += L::bytes) {
    int q[32];
    if constexpr (T == GgmlType::Q8_0) {
      for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(w[2 + j]);
    } else {
      const uint8_t* qs = w + L::qs;
      uint32_t qh = 0;
      if constexpr (L::qh >= 0) std::memcpy(&qh, w + L::qh, 4);
      for (int j = 0; j < 16; ++j) {
        q[j] = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
        q[j + 16] = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      }
    }
    const float d = h2f(w);
    const float m = L::has_m ? h2f(w + 2) : -static_cast<float>(L::offset) * d;
    for (int t = 0; t < NT; ++t) {
      const ActBlock& ab = a[t * a_stride + i];
      int32_t isum = 0;
      for (int j = 0; j < 32; ++j) isum += q[j] * ab.q[j];
      sum[t] = std::fma(d * ab.d, static_cast<float>(isum), sum[t]);
      sum[t] = std::fma(m, ab.s, sum[t]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = sum[t];
}
#endif

template <GgmlType T>
void dot_tokens(const uint8_t* w, const ActBlock* a, int64_t nb, int n_tok, float* out,
                int64_t out_stride) {
  int t = 0;
  for (; t + 4 <= n_tok; t += 4)
    dot_rows<T, 4>(w, a + t * nb, nb, nb, out + t * out_stride, out_stride);
  switch (n_tok - t) {
    case 3:
      dot_rows<T, 3>(w, a + t * nb, nb, nb, out + t * out_stride, out_stride);
      break;
    case 2:
      dot_rows<T, 2>(w, a + t * nb, nb, nb, out + t * out_stride, out_stride);
      break;
    case 1:
      dot_rows<T, 1>(w, a + t * nb, nb, nb, out + t * out_stride, out_stride);
      break;
    default:
      break;
  }
}

}  // namespace

void quantize_activations(const float* x, ActBlock* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float amax = 0.0f;
    int32_t qi[32];
#if SGP_AVX2
    // The same values as the scalar loop below: max of |x|, then x * id rounded to nearest even
    // (the default rounding mode that nearbyint uses too).
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 32; j += 8)
      m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    amax = _mm_cvtss_f32(m4);
    float d = amax / 32639.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; j += 8) {
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(qi + j),
          _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j), _mm256_set1_ps(id))));
    }
#else
    for (int j = 0; j < 32; ++j) {
      float a = std::fabs(x[j]);
      amax = a > amax ? a : amax;
    }
    float d = amax / 32639.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) qi[j] = static_cast<int32_t>(std::nearbyint(x[j] * id));
#endif
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      int q = qi[j];
      out[b].q[j] = static_cast<int16_t>(q);
      const int lo = static_cast<int8_t>(q & 0xFF);
      out[b].lo[j] = static_cast<int8_t>(lo);
      out[b].hi[j] = static_cast<int8_t>((q - lo) / 256);
      sum += q;
    }
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

ActDotFn act_dot_for(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::Q4_0:
      return dot_tokens<GgmlType::Q4_0>;
    case GgmlType::Q4_1:
      return dot_tokens<GgmlType::Q4_1>;
    case GgmlType::Q5_0:
      return dot_tokens<GgmlType::Q5_0>;
    case GgmlType::Q5_1:
      return dot_tokens<GgmlType::Q5_1>;
    case GgmlType::Q8_0:
      return dot_tokens<GgmlType::Q8_0>;
    default:
      return nullptr;
  }
}

}  // namespace sgp::kernels
