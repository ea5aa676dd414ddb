// Utf8Ranges: recursive splitting of code-point ranges along UTF-8 encoding boundaries.
#include "constraint/utf8_ranges.h"

#include "sgp/utf8.h"

namespace sgp::constraint {

namespace {

int encode(uint32_t cp, uint8_t* out) {
  return encode_utf8(cp, out);
}

void split(uint32_t lo, uint32_t hi, std::vector<std::vector<ByteRange>>& out) {
  if (lo > hi) return;
  // Ranges crossing an encoding-length boundary become one range per length.
  for (uint32_t boundary : {0x7Fu, 0x7FFu, 0xFFFFu}) {
    if (lo <= boundary && hi > boundary) {
      split(lo, boundary, out);
      split(boundary + 1, hi, out);
      return;
    }
  }
  if (hi < 0x80) {
    out.push_back({{static_cast<uint8_t>(lo), static_cast<uint8_t>(hi)}});
    return;
  }
  // Within one length, the trailing 6-bit groups must span their full range (0x80-0xBF) for
  // each byte position to be chosen independently; split off the ragged ends until they do.
  for (int i = 1; i < 4; ++i) {
    uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        split(lo, lo | m, out);
        split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        split(lo, (hi & ~m) - 1, out);
        split(hi & ~m, hi, out);
        return;
      }
    }
  }
  uint8_t a[4], b[4];
  int n = encode(lo, a);
  encode(hi, b);
  std::vector<ByteRange> seq;
  for (int k = 0; k < n; ++k) seq.push_back({a[k], b[k]});
  out.push_back(std::move(seq));
}

}  // namespace

std::vector<std::vector<ByteRange>> utf8_sequences(CodeRange range) {
  std::vector<std::vector<ByteRange>> out;
  split(range.lo, range.hi, out);
  return out;
}

}  // namespace sgp::constraint
