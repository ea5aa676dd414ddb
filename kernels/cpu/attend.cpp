// attend: scores four keys at a time (one horizontal reduction for four dots), then sums the
// weighted values with the output kept in registers across all positions.
#include "kernels/cpu/attend.h"

#include "kernels/cpu/ops.h"
#include "kernels/cpu/vec_f32.h"

namespace sgp::kernels {
namespace {

#if SGP_AVX2
// The four dots q . k0..k3 (hd a multiple of 8).
inline __m128 dot4(const float* q, const float* k0, const float* k1, const float* k2,
                   const float* k3, int hd) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int i = 0; i < hd; i += 8) {
    const __m256 qv = _mm256_loadu_ps(q + i);
    s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + i), s0);
    s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + i), s1);
    s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + i), s2);
    s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + i), s3);
  }
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
#endif

}  // namespace

void attend(const float* q, int group, const float* const* k, const float* const* v, int n, int hd,
            float scale, float* scores, float* out) {
  for (int h = 0; h < group; ++h) {
    const float* qh = q + h * hd;
    float* s = scores + h * n;
    int p = 0;
#if SGP_AVX2
    if (hd % 8 == 0) {
      const __m128 sc = _mm_set1_ps(scale);
      for (; p + 4 <= n; p += 4) {
        _mm_storeu_ps(s + p, _mm_mul_ps(dot4(qh, k[p], k[p + 1], k[p + 2], k[p + 3], hd), sc));
      }
    }
#endif
    for (; p < n; ++p) s[p] = dot_f32(qh, k[p], hd) * scale;
    softmax(s, n);

    float* o = out + h * hd;
    int c = 0;
#if SGP_AVX2
    for (; c + 32 <= hd; c += 32) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int j = 0; j < n; ++j) {
        const __m256 w = _mm256_set1_ps(s[j]);
        const float* vj = v[j] + c;
        a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj), a0);
        a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 8), a1);
        a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 16), a2);
        a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 24), a3);
      }
      _mm256_storeu_ps(o + c, a0);
      _mm256_storeu_ps(o + c + 8, a1);
      _mm256_storeu_ps(o + c + 16, a2);
      _mm256_storeu_ps(o + c + 24, a3);
    }
    for (; c + 8 <= hd; c += 8) {
      __m256 a0 = _mm256_setzero_ps();
      for (int j = 0; j < n; ++j)
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(s[j]), _mm256_loadu_ps(v[j] + c), a0);
      _mm256_storeu_ps(o + c, a0);
    }
#endif
    for (; c < hd; ++c) {
      float a = 0.0f;
      for (int j = 0; j < n; ++j) a += s[j] * v[j][c];
      o[c] = a;
    }
  }
}

}  // namespace sgp::kernels
