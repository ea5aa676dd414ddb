// Unicode character classes the pre-tokenizer patterns use: \p{L}, \p{N}, \s, and the rest.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sgp::model {

enum class CharClass : uint8_t { Other, Letter, Number, Space };

struct CodeRange {
  uint32_t lo, hi;
  CharClass cls;
};

namespace unicode_tables {
// Sorted, disjoint ranges of every non-Other code point (generated: unicode_tables.cpp).
extern const CodeRange kRanges[];
extern const size_t kRangeCount;
}  // namespace unicode_tables

CharClass char_class(uint32_t cp);

}  // namespace sgp::model
