// Utf8Ranges: splits a code-point range into sequences of byte ranges that encode exactly it.
#pragma once

#include <cstdint>
#include <vector>

#include "constraint/regex_ast.h"

namespace sgp::constraint {

struct ByteRange {
  uint8_t lo = 0;
  uint8_t hi = 0;
};

// One entry per alternative; each alternative is 1 to 4 byte ranges, one per encoded byte.
// Only shortest-form encodings are produced, so automata built from them accept valid UTF-8 only.
std::vector<std::vector<ByteRange>> utf8_sequences(CodeRange range);

}  // namespace sgp::constraint
