// NFC normalization (canonical decomposition, reordering, composition), as HF's NFC normalizer.
#pragma once

#include <string>
#include <string_view>

namespace sgp::model {

// True when text is already NFC for certain (a fast pre-check: ASCII-only or no code point that
// NFC could touch). False means "maybe not".
bool surely_nfc(std::string_view text);
// NFC of text; bytes that are not valid UTF-8 pass through unchanged and block composition.
std::string to_nfc(std::string_view text);

}  // namespace sgp::model
