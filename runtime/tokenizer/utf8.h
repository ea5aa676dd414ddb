// UTF-8 decoding into classified code points (invalid bytes kept as one-byte units), and encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sgp/utf8.h"
#include "tokenizer/unicode_class.h"

namespace sgp::model {

// One decoded character with the byte span it came from. A byte that starts no valid UTF-8
// sequence becomes its own unit (cp = kInvalidCodePoint, class Other), so every byte of the
// input lands in exactly one unit and tokenization stays lossless.
struct CodeUnit {
  uint32_t cp;
  uint32_t offset;
  uint32_t len;
  CharClass cls;
};
constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFFu;

// Length of the valid UTF-8 sequence at s[i], or 0 if none starts there.
size_t utf8_valid_length(std::string_view s, size_t i);
// Like utf8_valid_length, but also reports a truncated yet so-far valid sequence at the end
// of s: returns its needed length with `incomplete` set.
size_t utf8_prefix_length(std::string_view s, size_t i, bool& incomplete);

void decode_utf8(std::string_view s, std::vector<CodeUnit>& out);
using sgp::append_utf8;

}  // namespace sgp::model
