// Packing of Q4_0/Q4_1/Q8_0 rows into 8-row groups, and the AVX2 dot kernels over them.
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

constexpr size_t kQ4PackedBytes = 160, kQ8PackedBytes = 272;

bool is_q8(uint32_t type) {
  return type == static_cast<uint32_t>(GgmlType::Q8_0);
}

// Where a source block keeps its scale, minimum (Q4_1 only) and values.
struct Source {
  int bytes, qs;
  bool has_m;
};
Source source_of(uint32_t type) {
  if (is_q8(type)) return Source{34, 2, false};
  return type == static_cast<uint32_t>(GgmlType::Q4_1) ? Source{20, 4, true} : Source{18, 2, false};
}

// Packed Q4 block: step s of 4 elements x 8 rows; steps 2c and 2c+1 share chunk c's 32 bytes
// (low and high nibbles), so element e of row r sits at chunk e / 8, nibble (e / 4) % 2.
inline size_t q4_byte(int r, int e) {
  return 32 + 32 * (e / 8) + 4 * r + e % 4;
}
inline int q4_shift(int e) {
  return (e / 4) % 2 * 4;
}
// Packed Q8 block: step k holds elements 2k and 2k+1 of the 8 rows (16 bytes).
inline size_t q8_byte(int r, int e) {
  return 16 + 16 * (e / 2) + 2 * r + e % 2;
}

#if SGP_PACKED
// Step s of a block covers elements 4s..4s+3 of every row: steps 2c and 2c+1 are the low and
// high nibbles of chunk c. Activations are 256 * hi + lo with both parts in int8, so each
// unsigned-nibble x signed-byte pair sum is at most 2 * 15 * 128 and eight steps add up to at
// most 30720: the int16 sums need no widening until the block ends.
// Software prefetch this far ahead of the block being read, up to the end of the caller's range:
// with the integer work between loads, the hardware prefetcher alone keeps too few lines in
// flight, and a single thread streams ~25% slower from DRAM than a plain read.
constexpr int64_t kPrefetchBytes = 2560;

inline void prefetch_ahead(const uint8_t* g, size_t block, const uint8_t* end) {
  const uint8_t* p = g + kPrefetchBytes;
  if (p >= end) return;
  for (size_t c = 0; c < block; c += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + c), _MM_HINT_T0);
}

template <bool kHasM, int NT>
void group_dot(const uint8_t* g, const ActBlock* a, int64_t nb, float* out, int64_t out_stride,
               const uint8_t* end) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i k256 = _mm256_set1_epi16(256), k1 = _mm256_set1_epi16(1);
  __m256 acc[NT], off[NT];
  for (int t = 0; t < NT; ++t) acc[t] = off[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, g += kQ4PackedBytes) {
    prefetch_ahead(g, kQ4PackedBytes, end);
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

// Q8_0: step k multiplies the sign-extended pairs (elements 2k, 2k+1) of the 8 rows with the
// token's int16 pair, a 32-bit sum per row (at most 32 * 128 * 32767: no overflow). Two
// accumulators halve the dependent add chain.
template <int NT>
void group_dot_q8(const uint8_t* g, const ActBlock* a, int64_t nb, float* out, int64_t out_stride,
                  const uint8_t* end) {
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, g += kQ8PackedBytes) {
    prefetch_ahead(g, kQ8PackedBytes, end);
    const __m256 d8 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g)));
    __m256i s0[NT], s1[NT];
    for (int t = 0; t < NT; ++t) s0[t] = s1[t] = _mm256_setzero_si256();
    for (int k = 0; k < 16; k += 2) {
      const __m256i w0 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 16 + 16 * k)));
      const __m256i w1 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 32 + 16 * k)));
      for (int t = 0; t < NT; ++t) {
        const int16_t* q = a[t * nb + i].q + 2 * k;
        int32_t p0, p1;
        std::memcpy(&p0, q, 4);
        std::memcpy(&p1, q + 2, 4);
        s0[t] = _mm256_add_epi32(s0[t], _mm256_madd_epi16(w0, _mm256_set1_epi32(p0)));
        s1[t] = _mm256_add_epi32(s1[t], _mm256_madd_epi16(w1, _mm256_set1_epi32(p1)));
      }
    }
    for (int t = 0; t < NT; ++t) {
      const __m256i sum = _mm256_add_epi32(s0[t], s1[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(d8, _mm256_set1_ps(a[t * nb + i].d)),
                               _mm256_cvtepi32_ps(sum), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + t * out_stride, acc[t]);
}

// Consecutive groups, each against the tokens two at a time (one weight read serves both).
template <void (*Pair)(const uint8_t*, const ActBlock*, int64_t, float*, int64_t, const uint8_t*),
          void (*One)(const uint8_t*, const ActBlock*, int64_t, float*, int64_t, const uint8_t*),
          size_t kBlock>
void groups_dot(const uint8_t* groups, int64_t n_groups, const ActBlock* a, int64_t nb, int n_tok,
                float* out, int64_t out_stride) {
  const size_t group_bytes = static_cast<size_t>(nb) * kBlock;
  const uint8_t* end = groups + n_groups * group_bytes;
  for (int64_t k = 0; k < n_groups; ++k) {
    const uint8_t* g = groups + k * group_bytes;
    float* y = out + k * kPackRows;
    int t = 0;
    for (; t + 2 <= n_tok; t += 2) Pair(g, a + t * nb, nb, y + t * out_stride, out_stride, end);
    if (t < n_tok) One(g, a + t * nb, nb, y + t * out_stride, out_stride, end);
  }
}
#endif

}  // namespace

size_t packed_block_bytes(uint32_t type) {
  if (is_q8(type)) return kQ8PackedBytes;
  const bool q4 = type == static_cast<uint32_t>(GgmlType::Q4_0) ||
                  type == static_cast<uint32_t>(GgmlType::Q4_1);
  return q4 ? kQ4PackedBytes : 0;
}

bool packable(uint32_t type, int64_t rows, int64_t cols) {
#if SGP_PACKED
  return packed_block_bytes(type) != 0 && rows > 0 && rows % kPackRows == 0 && cols > 0 &&
         cols % 32 == 0;
#else
  (void)type, (void)rows, (void)cols;
  return false;
#endif
}

void pack_rows(uint32_t type, const uint8_t* data, size_t row_bytes, int64_t rows, int64_t cols,
               uint8_t* out) {
  const Source src = source_of(type);
  const size_t block = packed_block_bytes(type);
  const int64_t nb = cols / 32;
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    for (int64_t i = 0; i < nb; ++i, out += block) {
      std::memset(out, 0, 32);
      for (int r = 0; r < kPackRows; ++r) {
        const uint8_t* b =
            data + static_cast<size_t>(g * kPackRows + r) * row_bytes + i * src.bytes;
        std::memcpy(out + 2 * r, b, 2);
        if (src.has_m) std::memcpy(out + 16 + 2 * r, b + 2, 2);
        const uint8_t* qs = b + src.qs;
        if (is_q8(type)) {
          for (int e = 0; e < 32; e += 2) std::memcpy(out + q8_byte(r, e), qs + e, 2);
          continue;
        }
        // Element e < 16 is the low nibble of qs[e], element e + 16 its high nibble.
        for (int e = 0; e < 32; ++e) {
          if (q4_shift(e) != 0) continue;
          const int hi = e + 4;  // shares the byte, in the high nibble
          const int lo_v = e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4;
          const int hi_v = hi < 16 ? qs[hi] & 0x0F : qs[hi - 16] >> 4;
          out[q4_byte(r, e)] = static_cast<uint8_t>(lo_v | (hi_v << 4));
        }
      }
    }
  }
}

void unpack_row(uint32_t type, const uint8_t* packed, int64_t cols, int64_t r, uint8_t* out) {
  const Source src = source_of(type);
  const size_t block = packed_block_bytes(type);
  const int64_t nb = cols / 32;
  const int lane = static_cast<int>(r % kPackRows);
  const uint8_t* p = packed + static_cast<size_t>(r / kPackRows) * nb * block;
  for (int64_t i = 0; i < nb; ++i, p += block, out += src.bytes) {
    std::memcpy(out, p + 2 * lane, 2);
    if (src.has_m) std::memcpy(out + 2, p + 16 + 2 * lane, 2);
    uint8_t* qs = out + src.qs;
    if (is_q8(type)) {
      for (int e = 0; e < 32; ++e) qs[e] = p[q8_byte(lane, e)];
    } else {
      for (int j = 0; j < 16; ++j) {
        const int lo = (p[q4_byte(lane, j)] >> q4_shift(j)) & 0x0F;
        const int hi = (p[q4_byte(lane, j + 16)] >> q4_shift(j + 16)) & 0x0F;
        qs[j] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
}

PackedDotFn packed_dot_for(uint32_t type) {
#if SGP_PACKED
  if (type == static_cast<uint32_t>(GgmlType::Q4_1))
    return groups_dot<group_dot<true, 2>, group_dot<true, 1>, kQ4PackedBytes>;
  if (type == static_cast<uint32_t>(GgmlType::Q4_0))
    return groups_dot<group_dot<false, 2>, group_dot<false, 1>, kQ4PackedBytes>;
  if (is_q8(type)) return groups_dot<group_dot_q8<2>, group_dot_q8<1>, kQ8PackedBytes>;
#else
  (void)type;
#endif
  return nullptr;
}

}  // namespace sgp::kernels
