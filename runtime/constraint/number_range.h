// NumberRange: regexes for the JSON integers and numbers that lie within bounds.
#pragma once

#include <cstdint>
#include <string>

namespace sgp::constraint {

// Generated integers keep to 16 digits so every JSON parser reads them exactly.
inline constexpr int64_t kMaxJsonInteger = 9'999'999'999'999'999;

// Canonical JSON integers (no leading zeros, no "-0") n with lo <= n <= hi; both within
// ±kMaxJsonInteger and lo <= hi.
std::string integer_range_regex(int64_t lo, int64_t hi);

// JSON numbers x without exponent, lo <= x <= hi (integers at the ends only when
// the end is inclusive): integers as above, and non-integers with up to 16 fraction digits.
// Empty string when no number qualifies.
std::string number_range_regex(int64_t lo, bool lo_inclusive, int64_t hi, bool hi_inclusive);

}  // namespace sgp::constraint
