// Tests for bounded integer and number regexes: every value near the bounds, checked by value.
#include "constraint/number_range.h"

#include <doctest/doctest.h>

#include <random>

#include "constraint/dfa.h"

using namespace sgp::constraint;

TEST_CASE("integer ranges match exactly the canonical integers within the bounds") {
  std::mt19937_64 rng(5);
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 0},       {0, 9},     {1, 10},   {-5, 5},
      {-100, -1},   {7, 7},     {-1, 0},   {19, 4321},
      {-999, 1000}, {123, 129}, {99, 101}, {-kMaxJsonInteger, kMaxJsonInteger}};
  for (int i = 0; i < 40; ++i) {
    int64_t a = static_cast<int64_t>(rng() % 200001) - 100000;
    int64_t b = a + static_cast<int64_t>(rng() % (i < 20 ? 300 : 30000));
    ranges.push_back({a, b});
  }
  for (auto [lo, hi] : ranges) {
    CAPTURE(lo);
    CAPTURE(hi);
    Dfa d = Dfa::from_pattern(integer_range_regex(lo, hi));
    std::vector<int64_t> probe = {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, -1, 1};
    for (int64_t n = lo - 40; n <= lo + 40; ++n) probe.push_back(n);
    for (int64_t n = hi - 40; n <= hi + 40; ++n) probe.push_back(n);
    for (int k = 0; k < 200; ++k)
      probe.push_back(lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)));
    for (int64_t n : probe) {
      if (n < -kMaxJsonInteger || n > kMaxJsonInteger) continue;
      CAPTURE(n);
      CHECK(d.full_match(std::to_string(n)) == (lo <= n && n <= hi));
    }
    CHECK_FALSE(d.full_match("-0"));
    CHECK_FALSE(d.full_match("007"));
  }
}

TEST_CASE("number ranges: fractions strictly inside, integer ends as inclusive or not") {
  struct Case {
    int64_t lo;
    bool lo_in;
    int64_t hi;
    bool hi_in;
  };
  for (Case c : {Case{0, true, 1, true}, Case{0, false, 1, false}, Case{-3, true, 2, false},
                 Case{-10, false, -7, true}, Case{5, true, 5, true}, Case{-1, true, 0, true}}) {
    CAPTURE(c.lo);
    CAPTURE(c.hi);
    std::string re = number_range_regex(c.lo, c.lo_in, c.hi, c.hi_in);
    REQUIRE(!re.empty());
    Dfa d = Dfa::from_pattern(re);
    for (int64_t tenths = (c.lo - 2) * 10; tenths <= (c.hi + 2) * 10; ++tenths) {
      const double x = static_cast<double>(tenths) / 10.0;
      std::string text;
      if (tenths % 10 == 0) {
        text = std::to_string(tenths / 10);
      } else {
        int64_t mag = tenths < 0 ? -tenths : tenths;
        text = tenths < 0 ? "-" : "";
        text += std::to_string(mag / 10);
        text += '.';
        text += std::to_string(mag % 10);
      }
      CAPTURE(text);
      bool inside = (c.lo_in ? x >= c.lo : x > c.lo) && (c.hi_in ? x <= c.hi : x < c.hi);
      CHECK(d.full_match(text) == inside);
    }
    CHECK_FALSE(d.full_match("0.50e1"));
  }
  CHECK(number_range_regex(3, false, 3, true).empty());
  CHECK(Dfa::from_pattern(number_range_regex(0, true, 1, false)).full_match("0.000000000000001"));
  CHECK_FALSE(Dfa::from_pattern(number_range_regex(0, true, 1, false)).full_match("0.10"));
}
