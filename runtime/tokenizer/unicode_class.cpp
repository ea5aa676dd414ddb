// Code point → CharClass lookup over the generated range table, with an ASCII fast path.
#include "tokenizer/unicode_class.h"

#include <array>

#include "tokenizer/unicode_tables.h"

namespace sgp::model {

namespace {

CharClass search_ranges(uint32_t cp) {
  size_t lo = 0, hi = unicode_tables::kRangeCount;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const unicode_tables::CodeRange& r = unicode_tables::kRanges[mid];
    if (cp < r.lo)
      hi = mid;
    else if (cp > r.hi)
      lo = mid + 1;
    else
      return r.cls;
  }
  return CharClass::Other;
}

// Latin-1 covers nearly all text these matchers see, so it gets a table built from the ranges.
const std::array<CharClass, 256>& latin1_table() {
  static const std::array<CharClass, 256> table = [] {
    std::array<CharClass, 256> t{};
    for (uint32_t cp = 0; cp < 256; ++cp) t[cp] = search_ranges(cp);
    return t;
  }();
  return table;
}

}  // namespace

CharClass char_class(uint32_t cp) {
  if (cp < 256) return latin1_table()[cp];
  return search_ranges(cp);
}

}  // namespace sgp::model
