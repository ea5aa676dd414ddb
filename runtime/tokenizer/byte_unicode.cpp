// Printable Latin-1 bytes stand for themselves; the other 68 bytes take code points from U+0100 up.
#include "tokenizer/byte_unicode.h"

#include <array>
#include <vector>

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
  if (cp < 256) return is_printable(cp) ? static_cast<int>(cp) : -1;
  if (cp >= 256 + 68) return -1;
  const auto& t = forward_table();
  for (int b = 0; b < 256; ++b)
    if (t[b] == cp) return b;
  return -1;
}

std::string unmap_byte_level(std::string_view text) {
  std::vector<CodeUnit> units;
  decode_utf8(text, units);
  std::string out;
  out.reserve(text.size());
  for (const CodeUnit& u : units) {
    int b = u.cp == kInvalidCodePoint ? -1 : code_point_to_byte(u.cp);
    if (b >= 0)
      out += static_cast<char>(b);
    else
      out.append(text.substr(u.offset, u.len));
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
