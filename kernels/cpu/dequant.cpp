// Dequantization of the supported GGML block formats (layouts fixed by the GGUF format).
#include "kernels/cpu/dequant.h"

#include <cstring>
#include <string>

#include "kernels/cpu/fp16.h"
#include "kernels/cpu/ggml_types.h"
#include "model/gguf_file.h"
#include "sgp/error.h"

namespace sgp::kernels {
namespace {

using model::GgmlType;

inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_float(h);
}

// Q4_K packs eight 6-bit scales and eight 6-bit mins into 12 bytes.
inline void q4k_scale_min(int j, const uint8_t* s, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void deq_q4_0(const uint8_t* b, float* y) {
  float d = h2f(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0xF) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}
void deq_q4_1(const uint8_t* b, float* y) {
  float d = h2f(b), m = h2f(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0xF) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}
void deq_q5(const uint8_t* qh_p, const uint8_t* qs, float d, float m, int offset, float* y) {
  uint32_t qh;
  std::memcpy(&qh, qh_p, 4);
  for (int j = 0; j < 16; ++j) {
    int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
    int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = static_cast<float>(lo - offset) * d + m;
    y[j + 16] = static_cast<float>(hi - offset) * d + m;
  }
}
void deq_q8_0(const uint8_t* b, float* y) {
  float d = h2f(b);
  const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}
void deq_q4_k(const uint8_t* b, float* y) {
  float d = h2f(b), dmin = h2f(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int c = 0; c < 4; ++c) {  // 64 elements per chunk: two sub-blocks share 32 bytes
    int sc, m;
    q4k_scale_min(2 * c, scales, sc, m);
    float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    q4k_scale_min(2 * c + 1, scales, sc, m);
    float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      y[l] = d1 * static_cast<float>(q[l] & 0xF) - m1;
      y[l + 32] = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
    q += 32;
    y += 64;
  }
}
void deq_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = h2f(b + 208);
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is] * q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2] * q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4] * q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6] * q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

void require_supported(uint32_t type, const char* what) {
  const TypeTraits* t = type_traits(type);
  if (t == nullptr || !t->supported) {
    throw Error(std::string(what) + " has tensor type " + type_name(type) +
                ", which sgp does not support (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
                "Q4_K, Q6_K)");
  }
}

void dequantize_row(uint32_t type, const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const uint8_t*>(src);
  size_t bytes = row_bytes(type, n);  // validates the block count
  (void)bytes;
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32:
      std::memcpy(dst, b, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = h2f(b + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, b + 2 * i, 2);
        dst[i] = bf16_to_float(h);
      }
      return;
    default:
      break;
  }
  const TypeTraits* t = type_traits(type);
  require_supported(type, "tensor");
  int64_t nb = n / t->block_elems;
  for (int64_t i = 0; i < nb; ++i, b += t->block_bytes, dst += t->block_elems) {
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::Q4_0:
        deq_q4_0(b, dst);
        break;
      case GgmlType::Q4_1:
        deq_q4_1(b, dst);
        break;
      case GgmlType::Q5_0:
        deq_q5(b + 2, b + 6, h2f(b), 0.0f, 16, dst);
        break;
      case GgmlType::Q5_1:
        deq_q5(b + 4, b + 8, h2f(b), h2f(b + 2), 0, dst);
        break;
      case GgmlType::Q8_0:
        deq_q8_0(b, dst);
        break;
      case GgmlType::Q4_K:
        deq_q4_k(b, dst);
        break;
      case GgmlType::Q6_K:
        deq_q6_k(b, dst);
        break;
      default:
        require_supported(0xffffffffu, "tensor");
    }
  }
}

}  // namespace sgp::kernels
