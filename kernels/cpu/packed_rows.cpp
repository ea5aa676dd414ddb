// Packing of Q4_0/Q4_1 rows into 8-row groups, and the AVX2 dot kernel over them.
#include "kernels/cpu/packed_rows.h"

#include <cstring>

#include "kernels/cpu/vec_f32.h"
#include "model/gguf_file.h"

#if SGP_AVX2 && defined(__F16C__)
#define SGP_PACKED 1
#endif

namespace sgp::kernels {
namespace {

using model::GgmlType;

// Where a source block keeps its scale, minimum (Q4_1 only) and nibbles.
struct Source {
  int bytes, qs;
  bool has_m;
};
Source source_of(uint32_t type) {
  return type == static_cast<uint32_t>(GgmlType::Q4_1) ? Source{20, 4, true} : Source{18, 2, false};
}

#if SGP_PACKED
// Step s of a block covers elements 4s..4s+3 of every row: steps 2c and 2c+1 are the low and
// high nibbles of chunk c. Activations are 256 * hi + lo with both parts in int8, so each
// unsigned-nibble x signed-byte pair sum is at most 2 * 15 * 128 and eight steps add up to at
// most 30720: the int16 sums need no widening until the block ends.
template <bool kHasM, int NT>
void group_dot(const uint8_t* g, const ActBlock* a, int64_t nb, float* out, int64_t out_stride) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i k256 = _mm256_set1_epi16(256), k1 = _mm256_set1_epi16(1);
  __m256 acc[NT], off[NT];
  for (int t = 0; t < NT; ++t) acc[t] = off[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, g += kPackedBlockBytes) {
    const __m256 d8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g)));
    const __m256 m8 =
        kHasM ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 16)))
              : _mm256_mul_ps(d8, _mm256_set1_ps(-8.0f));
    __m256i w[8];
    for (int c = 0; c < 4; ++c) {
      __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 32 + 32 * c));
      w[2 * c] = _mm256_and_si256(raw, low4);
      w[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    }
    for (int t = 0; t < NT; ++t) {
      const ActBlock& ab = a[t * nb + i];
      __m256i sh = _mm256_setzero_si256(), sl = sh;
      for (int s = 0; s < 8; ++s) {
        int32_t h4, l4;
        std::memcpy(&h4, ab.hi + 4 * s, 4);
        std::memcpy(&l4, ab.lo + 4 * s, 4);
        sh = _mm256_add_epi16(sh, _mm256_maddubs_epi16(w[s], _mm256_set1_epi32(h4)));
        sl = _mm256_add_epi16(sl, _mm256_maddubs_epi16(w[s], _mm256_set1_epi32(l4)));
      }
      __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(sh, k256), _mm256_madd_epi16(sl, k1));
      acc[t] =
          _mm256_fmadd_ps(_mm256_mul_ps(d8, _mm256_set1_ps(ab.d)), _mm256_cvtepi32_ps(sum), acc[t]);
      off[t] = _mm256_fmadd_ps(m8, _mm256_set1_ps(ab.s), off[t]);
    }
  }
  for (int t = 0; t < NT; ++t)
    _mm256_storeu_ps(out + t * out_stride, _mm256_add_ps(acc[t], off[t]));
}

template <bool kHasM>
void group_dot_tokens(const uint8_t* g, const ActBlock* a, int64_t nb, int n_tok, float* out,
                      int64_t out_stride) {
  int t = 0;
  for (; t + 2 <= n_tok; t += 2) {
    group_dot<kHasM, 2>(g, a + t * nb, nb, out + t * out_stride, out_stride);
  }
  if (t < n_tok) group_dot<kHasM, 1>(g, a + t * nb, nb, out + t * out_stride, out_stride);
}
#endif

}  // namespace

bool packable(uint32_t type, int64_t rows, int64_t cols) {
#if SGP_PACKED
  const bool q4 = type == static_cast<uint32_t>(GgmlType::Q4_0) ||
                  type == static_cast<uint32_t>(GgmlType::Q4_1);
  return q4 && rows > 0 && rows % kPackRows == 0 && cols > 0 && cols % 32 == 0;
#else
  (void)type, (void)rows, (void)cols;
  return false;
#endif
}

void pack_rows(uint32_t type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols,
               uint8_t* out) {
  const Source src = source_of(type);
  const int64_t nb = cols / 32;
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    for (int64_t i = 0; i < nb; ++i, out += kPackedBlockBytes) {
      std::memset(out, 0, kPackedBlockBytes);
      for (int r = 0; r < kPackRows; ++r) {
        const uint8_t* b =
            data + static_cast<size_t>(g * kPackRows + r) * row_bytes + i * src.bytes;
        std::memcpy(out + 2 * r, b, 2);
        if (src.has_m) std::memcpy(out + 16 + 2 * r, b + 2, 2);
        uint8_t q[32];
        for (int j = 0; j < 16; ++j) {
          q[j] = b[src.qs + j] & 0x0F;
          q[j + 16] = b[src.qs + j] >> 4;
        }
        for (int c = 0; c < 4; ++c) {
          for (int k = 0; k < 4; ++k) {
            out[32 + 32 * c + 4 * r + k] =
                static_cast<uint8_t>(q[8 * c + k] | (q[8 * c + 4 + k] << 4));
          }
        }
      }
    }
  }
}

PackedDotFn packed_dot_for(uint32_t type) {
#if SGP_PACKED
  if (type == static_cast<uint32_t>(GgmlType::Q4_1)) return group_dot_tokens<true>;
  if (type == static_cast<uint32_t>(GgmlType::Q4_0)) return group_dot_tokens<false>;
#else
  (void)type;
#endif
  return nullptr;
}

}  // namespace sgp::kernels
