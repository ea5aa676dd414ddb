// NumberRange: digit-by-digit range splitting, per numeral length.
#include "constraint/number_range.h"

#include <algorithm>
#include <vector>

namespace sgp::constraint {

namespace {

std::string alternation(const std::vector<std::string>& parts) {
  if (parts.size() == 1) return parts[0];
  std::string out = "(?:";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "|" : "") + parts[i];
  return out + ")";
}

std::string digit_class(char from, char to) {
  if (from == to) return std::string(1, from);
  return std::string("[") + from + "-" + to + "]";
}

std::string any_digits(size_t n) {
  if (n == 0) return "";
  return "[0-9]{" + std::to_string(n) + "}";
}

// Numerals of equal length between lo and hi (as strings, lo <= hi), each after `prefix`.
void same_length(const std::string& lo, const std::string& hi, const std::string& prefix,
                 std::vector<std::string>& out) {
  if (lo.empty()) {
    out.push_back(prefix);
    return;
  }
  const size_t rest = lo.size() - 1;
  if (lo[0] == hi[0]) {
    same_length(lo.substr(1), hi.substr(1), prefix + lo[0], out);
    return;
  }
  const bool lo_full = lo.find_first_not_of('0', 1) == std::string::npos;
  const bool hi_full = hi.find_first_not_of('9', 1) == std::string::npos;
  char from = lo[0], to = hi[0];
  if (!lo_full) {
    same_length(lo.substr(1), std::string(rest, '9'), prefix + lo[0], out);
    ++from;
  }
  if (!hi_full) --to;
  if (from <= to) out.push_back(prefix + digit_class(from, to) + any_digits(rest));
  if (!hi_full) same_length(std::string(rest, '0'), hi.substr(1), prefix + hi[0], out);
}

// Numerals of a..b, 0 <= a <= b, appended to `out`.
void natural_range(int64_t a, int64_t b, std::vector<std::string>& out) {
  int64_t low_of_length = 0, high_of_length = 9;
  for (int len = 1; len <= 16; ++len) {
    int64_t lo = std::max(a, low_of_length), hi = std::min(b, high_of_length);
    if (lo <= hi) same_length(std::to_string(lo), std::to_string(hi), "", out);
    if (len == 16) break;
    low_of_length = high_of_length + 1;
    high_of_length = high_of_length * 10 + 9;
  }
}

}  // namespace

std::string integer_range_regex(int64_t lo, int64_t hi) {
  std::vector<std::string> parts;
  if (lo < 0) {  // negatives: "-" and magnitudes max(1, -hi) .. -lo
    std::vector<std::string> mags;
    natural_range(std::max<int64_t>(1, hi < 0 ? -hi : 1), -lo, mags);
    std::string negative = "-";
    negative += alternation(mags);
    parts.push_back(negative);
  }
  if (hi >= 0) natural_range(std::max<int64_t>(lo, 0), hi, parts);
  return alternation(parts);
}

std::string number_range_regex(int64_t lo, bool lo_inclusive, int64_t hi, bool hi_inclusive) {
  std::vector<std::string> parts;
  const int64_t int_lo = lo_inclusive ? lo : lo + 1, int_hi = hi_inclusive ? hi : hi - 1;
  if (int_lo <= int_hi) parts.push_back(integer_range_regex(int_lo, int_hi));
  // A non-zero fraction after k lies strictly between k and k + 1; after -k, between -k - 1
  // and -k (so "-0.5" counts with k = 0).
  const std::string fraction = R"(\.[0-9]{0,15}[1-9])";
  const int64_t pos_lo = std::max<int64_t>(lo, 0), pos_hi = hi - 1;
  if (pos_lo <= pos_hi) {
    std::vector<std::string> ks;
    natural_range(pos_lo, pos_hi, ks);
    parts.push_back(alternation(ks) + fraction);
  }
  const int64_t neg_lo = std::max<int64_t>(hi < 0 ? -hi : 0, 0), neg_hi = -lo - 1;
  if (neg_lo <= neg_hi) {
    std::vector<std::string> ks;
    natural_range(neg_lo, neg_hi, ks);
    std::string negative = "-";
    negative += alternation(ks);
    parts.push_back(negative + fraction);
  }
  if (parts.empty()) return "";
  return alternation(parts);
}

}  // namespace sgp::constraint
