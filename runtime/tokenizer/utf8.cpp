// Strict UTF-8 decoding (no overlongs, surrogates or code points past U+10FFFF).
#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {

// Expected total length from the lead byte and the allowed range of the second byte.
bool lead_info(uint8_t b, size_t& len, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b < 0x80) {
    len = 1;
  } else if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return false;
  }
  return true;
}

}  // namespace

size_t utf8_prefix_length(std::string_view s, size_t i, bool& incomplete) {
  incomplete = false;
  size_t len;
  uint8_t lo, hi;
  if (!lead_info(static_cast<uint8_t>(s[i]), len, lo, hi)) return 0;
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      incomplete = true;
      return len;
    }
    uint8_t c = static_cast<uint8_t>(s[i + k]);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return 0;
  }
  return len;
}

size_t utf8_valid_length(std::string_view s, size_t i) {
  bool incomplete;
  size_t len = utf8_prefix_length(s, i, incomplete);
  return incomplete ? 0 : len;
}

void decode_utf8(std::string_view s, std::vector<CodeUnit>& out) {
  out.clear();
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out.push_back({b, static_cast<uint32_t>(i), 1, char_class(b)});
      ++i;
      continue;
    }
    size_t len = utf8_valid_length(s, i);
    if (len == 0) {
      out.push_back({kInvalidCodePoint, static_cast<uint32_t>(i), 1, CharClass::Other});
      ++i;
      continue;
    }
    uint32_t cp = b & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back({cp, static_cast<uint32_t>(i), static_cast<uint32_t>(len), char_class(cp)});
    i += len;
  }
}

}  // namespace sgp::model
