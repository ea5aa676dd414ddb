// The generated Unicode tables (unicode_tables.cpp, made by tools/gen_unicode_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tokenizer/unicode_class.h"

namespace sgp::model::unicode_tables {

struct CodeRange {
  uint32_t lo, hi;
  CharClass cls;
};
struct CombiningClass {
  uint32_t cp;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint16_t offset;  // into kDecompositionData
  uint8_t len;
};
struct Composition {
  uint32_t first, second, composite;
};

// All sorted by code point (kCompositions by first, then second).
extern const CodeRange kRanges[];  // every non-Other code point
extern const size_t kRangeCount;
extern const CombiningClass kCombiningClasses[];  // non-zero classes only
extern const size_t kCombiningClassCount;
extern const uint32_t kDecompositionData[];
extern const Decomposition kDecompositions[];  // full canonical decompositions, no Hangul
extern const size_t kDecompositionCount;
extern const Composition kCompositions[];  // primary composites, no Hangul
extern const size_t kCompositionCount;

}  // namespace sgp::model::unicode_tables
