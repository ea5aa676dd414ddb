// The Unicode normalization algorithm (UAX #15) over the generated tables; Hangul is arithmetic.
#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode_tables.h"
#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {

using namespace unicode_tables;

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr uint32_t kSCount = kLCount * kNCount;

uint8_t combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;
  auto end = kCombiningClasses + kCombiningClassCount;
  auto it = std::lower_bound(kCombiningClasses, end, cp,
                             [](const CombiningClass& c, uint32_t v) { return c.cp < v; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

const Decomposition* decomposition(uint32_t cp) {
  if (cp < 0xC0) return nullptr;
  auto end = kDecompositions + kDecompositionCount;
  auto it = std::lower_bound(kDecompositions, end, cp,
                             [](const Decomposition& d, uint32_t v) { return d.cp < v; });
  return it != end && it->cp == cp ? it : nullptr;
}

// The composite of a starter and a following character, or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto end = kCompositions + kCompositionCount;
  auto it = std::lower_bound(kCompositions, end, std::pair{a, b},
                             [](const Composition& c, std::pair<uint32_t, uint32_t> v) {
                               return c.first != v.first ? c.first < v.first : c.second < v.second;
                             });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

// Code points that NFC may change, or that may combine with what precedes them.
bool nfc_sensitive(uint32_t cp) {
  if (cp < 0xC0) return false;  // no decompositions, no combining marks, no composition seconds
  static const std::vector<bool> seconds = [] {
    std::vector<bool> s(0x110000, false);
    for (size_t i = 0; i < kCompositionCount; ++i) s[kCompositions[i].second] = true;
    return s;
  }();
  if (cp >= 0x110000) return false;
  if (seconds[cp]) return true;
  if (cp >= kSBase && cp < kSBase + kSCount) return false;  // composed syllables stay composed
  if (cp >= kVBase && cp < kTBase + kTCount) return true;   // conjoining vowels and trailers
  return combining_class(cp) != 0 || decomposition(cp) != nullptr;
}

struct Char {
  uint32_t cp;  // kInvalidCodePoint for a raw byte
  uint8_t ccc;
  char raw;
};

void decompose(uint32_t cp, std::vector<Char>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back({kLBase + s / kNCount, 0, 0});
    out.push_back({kVBase + (s % kNCount) / kTCount, 0, 0});
    if (s % kTCount) out.push_back({kTBase + s % kTCount, 0, 0});
    return;
  }
  if (const Decomposition* d = decomposition(cp)) {
    for (uint8_t i = 0; i < d->len; ++i) {
      uint32_t c = kDecompositionData[d->offset + i];
      out.push_back({c, combining_class(c), 0});
    }
    return;
  }
  out.push_back({cp, combining_class(cp), 0});
}

}  // namespace

bool surely_nfc(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && static_cast<uint8_t>(text[i]) < 0x80) ++i;
  if (i == text.size()) return true;
  std::vector<CodeUnit> units;
  decode_utf8(text.substr(i), units);
  for (const CodeUnit& u : units)
    if (u.cp != kInvalidCodePoint && nfc_sensitive(u.cp)) return false;
  return true;
}

std::string to_nfc(std::string_view text) {
  if (surely_nfc(text)) return std::string(text);
  std::vector<CodeUnit> units;
  decode_utf8(text, units);
  std::vector<Char> chars;
  chars.reserve(units.size() + 8);
  for (const CodeUnit& u : units) {
    if (u.cp == kInvalidCodePoint)
      chars.push_back({kInvalidCodePoint, 0, text[u.offset]});
    else
      decompose(u.cp, chars);
  }
  // Canonical order: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < chars.size();) {
    if (chars[i].ccc == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < chars.size() && chars[j].ccc != 0) ++j;
    std::stable_sort(chars.begin() + i, chars.begin() + j,
                     [](const Char& a, const Char& b) { return a.ccc < b.ccc; });
    i = j;
  }
  // Canonical composition: a character joins the last starter unless something between them
  // blocks it (a starter, or a non-starter of the same or higher class).
  std::vector<Char> out;
  out.reserve(chars.size());
  long starter = -1;
  bool between = false;
  uint8_t last_ccc = 0;
  for (const Char& c : chars) {
    if (starter >= 0 && c.cp != kInvalidCodePoint && !(between && last_ccc >= c.ccc)) {
      if (uint32_t comp = compose(out[starter].cp, c.cp)) {
        out[starter].cp = comp;
        continue;
      }
    }
    if (c.ccc == 0) {
      starter = c.cp == kInvalidCodePoint ? -1 : static_cast<long>(out.size());
      between = false;
    } else {
      between = true;
      last_ccc = c.ccc;
    }
    out.push_back(c);
  }
  std::string s;
  s.reserve(text.size() + 4);
  for (const Char& c : out) {
    if (c.cp == kInvalidCodePoint)
      s += c.raw;
    else
      append_utf8(s, c.cp);
  }
  return s;
}

}  // namespace sgp::model
