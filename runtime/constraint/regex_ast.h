// RegexAst: a parsed regular expression over Unicode code points, the parser's hand-off to the NFA.
#pragma once

#include <cstdint>
#include <vector>

namespace sgp::constraint {

// Inclusive code-point range.
struct CodeRange {
  uint32_t lo = 0;
  uint32_t hi = 0;
};

inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;
inline constexpr int kUnbounded = -1;

struct RegexNode {
  enum class Kind {
    Empty,   // matches the empty string
    Class,   // one code point from `ranges` (no ranges: matches nothing)
    Concat,  // children in order
    Alt,     // any one child
    Repeat,  // child[0] between min and max times (max == kUnbounded: no limit)
  };
  Kind kind = Kind::Empty;
  std::vector<CodeRange> ranges;  // Class: sorted, disjoint, non-adjacent, no surrogates
  std::vector<int> children;      // indices into RegexAst::nodes
  int min = 0;
  int max = 0;
};

// Nodes live in one arena; children refer to them by index, so copies are cheap and safe.
struct RegexAst {
  std::vector<RegexNode> nodes;
  int root = -1;
};

}  // namespace sgp::constraint
