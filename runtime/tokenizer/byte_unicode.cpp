// Printable Latin-1 bytes stand for themselves; the other 68 bytes take code points from U+0100 up.
#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {

bool is_printable(uint32_t b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

const std::array<uint32_t, 256>& forward_table() {
  static const std::array<uint32_t, 256> t = [] {
    std::array<uint32_t, 256> m{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) m[b] = is_printable(b) ? b : next++;
    return m;
  }();
  return t;
}

}  // namespace

uint32_t byte_to_code_point(uint8_t b) {
  return forward_table()[b];
}

int code_point_to_byte(uint32_t cp) {
  static const std::array<int16_t, 256 + 68> inverse = [] {
    std::array<int16_t, 256 + 68> m;
    m.fill(-1);
    for (int b = 0; b < 256; ++b) m[forward_table()[b]] = static_cast<int16_t>(b);
    return m;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

std::string unmap_byte_level(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_valid_length(text, i);
    if (len == 0) len = 1;
    uint32_t cp = static_cast<uint8_t>(text[i]);
    if (len == 2) cp = ((cp & 0x1F) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3F);
    int b = len <= 2 ? code_point_to_byte(cp) : -1;
    if (b >= 0)
      out += static_cast<char>(b);
    else
      out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string map_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, byte_to_code_point(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace sgp::model
