// RegexParser: recursive descent over the supported regex subset, producing a RegexAst.
#include "constraint/regex_parser.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sgp::constraint {

namespace {

constexpr uint32_t kSurrogateLo = 0xD800;
constexpr uint32_t kSurrogateHi = 0xDFFF;

std::string describe(std::string_view pattern, size_t position, const std::string& what) {
  std::string msg = "invalid regex at offset " + std::to_string(position) + ": " + what;
  if (pattern.size() <= 200 && pattern.find('\n') == std::string_view::npos) {
    msg += "\n  " + std::string(pattern) + "\n  " + std::string(position, ' ') + "^";
  }
  return msg;
}

// Sorted, merged, surrogate-free ranges: the one canonical form classes are kept in.
std::vector<CodeRange> normalize(std::vector<CodeRange> in) {
  std::vector<CodeRange> split;
  for (CodeRange r : in) {
    if (r.lo > r.hi) continue;
    if (r.hi > kMaxCodePoint) r.hi = kMaxCodePoint;
    if (r.lo < kSurrogateLo && r.hi >= kSurrogateLo) {
      split.push_back({r.lo, kSurrogateLo - 1});
      if (r.hi > kSurrogateHi) split.push_back({kSurrogateHi + 1, r.hi});
    } else if (r.lo >= kSurrogateLo && r.lo <= kSurrogateHi) {
      if (r.hi > kSurrogateHi) split.push_back({kSurrogateHi + 1, r.hi});
    } else {
      split.push_back(r);
    }
  }
  std::sort(split.begin(), split.end(), [](CodeRange a, CodeRange b) { return a.lo < b.lo; });
  std::vector<CodeRange> out;
  for (CodeRange r : split) {
    if (!out.empty() && r.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<CodeRange> complement(const std::vector<CodeRange>& in) {
  std::vector<CodeRange> out;
  uint32_t next = 0;
  for (CodeRange r : in) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = r.hi + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return normalize(std::move(out));
}

std::vector<CodeRange> digit_set() {
  return {{'0', '9'}};
}
std::vector<CodeRange> word_set() {
  return normalize({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
}
// Same as RE2's \s: no vertical tab.
std::vector<CodeRange> space_set() {
  return normalize({{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}});
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
uint32_t hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}

  RegexAst run() {
    size_t end = p_.size();
    if (!p_.empty() && p_[0] == '^') pos_ = 1;
    if (end > pos_ && p_[end - 1] == '$' && !escaped_at(end - 1)) {
      trailing_dollar_ = end - 1;
      end_ = end - 1;
    } else {
      end_ = end;
    }
    ast_.root = parse_alt(0);
    if (pos_ < end_) {
      fail(pos_, p_[pos_] == ')' ? "unmatched ')'" : "unexpected character");
    }
    return std::move(ast_);
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw PatternError(p_, at, what);
  }

  // Whether the character at `i` is preceded by an odd number of backslashes.
  bool escaped_at(size_t i) const {
    size_t n = 0;
    while (i > n && p_[i - n - 1] == '\\') ++n;
    return n % 2 == 1;
  }

  bool at_end() const { return pos_ >= end_; }
  char peek() const { return p_[pos_]; }

  int add(RegexNode node) {
    ast_.nodes.push_back(std::move(node));
    return static_cast<int>(ast_.nodes.size()) - 1;
  }
  int add_class(std::vector<CodeRange> ranges) {
    RegexNode n;
    n.kind = RegexNode::Kind::Class;
    n.ranges = normalize(std::move(ranges));
    return add(std::move(n));
  }

  int parse_alt(int depth) {
    if (depth > kMaxNesting) fail(pos_, "groups nested too deeply");
    std::vector<int> branches{parse_concat(depth)};
    while (!at_end() && peek() == '|') {
      ++pos_;
      branches.push_back(parse_concat(depth));
    }
    if (branches.size() == 1) return branches[0];
    RegexNode n;
    n.kind = RegexNode::Kind::Alt;
    n.children = std::move(branches);
    return add(std::move(n));
  }

  int parse_concat(int depth) {
    std::vector<int> items;
    while (!at_end() && peek() != '|' && peek() != ')') items.push_back(parse_repeat(depth));
    if (items.size() == 1) return items[0];
    RegexNode n;
    n.kind = items.empty() ? RegexNode::Kind::Empty : RegexNode::Kind::Concat;
    n.children = std::move(items);
    return add(std::move(n));
  }

  // `{m}`, `{m,}` or `{m,n}` at pos_; anything else leaves pos_ alone (then `{` is a literal).
  std::optional<std::pair<int, int>> try_counted() {
    size_t i = pos_ + 1;
    auto number = [&](int& out) {
      size_t start = i;
      long v = 0;
      while (i < end_ && p_[i] >= '0' && p_[i] <= '9') {
        v = std::min<long>(v * 10 + (p_[i] - '0'), 1L << 30);
        ++i;
      }
      out = static_cast<int>(v);
      return i > start;
    };
    int lo = 0, hi = 0;
    if (!number(lo)) return std::nullopt;
    if (i < end_ && p_[i] == '}') {
      hi = lo;
    } else if (i < end_ && p_[i] == ',') {
      ++i;
      if (i < end_ && p_[i] == '}') {
        hi = kUnbounded;
      } else if (!number(hi) || i >= end_ || p_[i] != '}') {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
    size_t start = pos_;
    pos_ = i + 1;
    if (lo > kMaxRepeatCount || hi > kMaxRepeatCount) {
      fail(start, "repeat count above " + std::to_string(kMaxRepeatCount));
    }
    if (hi != kUnbounded && hi < lo) fail(start, "repeat range {m,n} with n < m");
    return std::make_pair(lo, hi);
  }

  int parse_repeat(int depth) {
    size_t atom_pos = pos_;
    int atom = parse_atom(depth);
    bool repeated = false;
    while (!at_end()) {
      size_t qpos = pos_;
      int lo = 0, hi = 0;
      char c = peek();
      if (c == '*') {
        lo = 0, hi = kUnbounded, ++pos_;
      } else if (c == '+') {
        lo = 1, hi = kUnbounded, ++pos_;
      } else if (c == '?') {
        lo = 0, hi = 1, ++pos_;
      } else if (c == '{') {
        auto counted = try_counted();
        if (!counted) break;
        lo = counted->first, hi = counted->second;
      } else {
        break;
      }
      if (repeated) fail(qpos, "repeat of a repeat (add a group to nest them)");
      repeated = true;
      // Lazy quantifiers mean nothing for a whole-output match; possessive ones are not supported.
      if (!at_end() && peek() == '?')
        ++pos_;
      else if (!at_end() && peek() == '+')
        fail(pos_, "possessive quantifiers are not supported");
      RegexNode n;
      n.kind = RegexNode::Kind::Repeat;
      n.children = {atom};
      n.min = lo;
      n.max = hi;
      atom = add(std::move(n));
    }
    (void)atom_pos;
    return atom;
  }

  uint32_t parse_utf8_char() {
    auto b0 = static_cast<unsigned char>(p_[pos_]);
    int len = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
    if (len == 0 || pos_ + len > p_.size()) fail(pos_, "invalid UTF-8 in pattern");
    uint32_t cp = len == 1 ? b0 : b0 & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(p_[pos_ + k]);
      if ((b & 0xC0) != 0x80) fail(pos_, "invalid UTF-8 in pattern");
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > kMaxCodePoint || (cp >= kSurrogateLo && cp <= kSurrogateHi)) {
      fail(pos_, "invalid UTF-8 in pattern");
    }
    pos_ += len;
    return cp;
  }

  uint32_t parse_hex_escape(size_t start, int digits) {
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      if (pos_ >= end_ || !is_hex(p_[pos_]))
        fail(start, "expected " + std::to_string(digits) + " hex digits");
      v = v * 16 + hex_value(p_[pos_++]);
    }
    return v;
  }

  // \x{HEX} or \u{HEX}, with pos_ at the brace.
  uint32_t parse_braced_hex(size_t start, char kind) {
    ++pos_;
    uint32_t v = 0;
    size_t digits = 0;
    while (pos_ < end_ && is_hex(p_[pos_]) && digits < 8)
      v = v * 16 + hex_value(p_[pos_++]), ++digits;
    if (digits == 0 || pos_ >= end_ || p_[pos_] != '}')
      fail(start, std::string("expected \\") + kind + "{HEX}");
    ++pos_;
    return check_code_point(start, v);
  }

  uint32_t check_code_point(size_t start, uint32_t cp) {
    if (cp > kMaxCodePoint) fail(start, "code point above U+10FFFF");
    if (cp >= kSurrogateLo && cp <= kSurrogateHi)
      fail(start, "surrogate code points cannot be encoded in UTF-8");
    return cp;
  }

  // After a backslash: either one code point or a class (\d \w \s and negations).
  // Returns the class ranges; `single` says it was one code point (usable as a range end).
  std::vector<CodeRange> parse_escape(bool in_class, bool& single) {
    size_t start = pos_ - 1;
    single = false;
    if (pos_ >= end_) fail(start, "trailing backslash");
    char c = p_[pos_++];
    auto one = [&](uint32_t cp) {
      single = true;
      return std::vector<CodeRange>{{cp, cp}};
    };
    switch (c) {
      case 'd':
        return digit_set();
      case 'D':
        return complement(digit_set());
      case 'w':
        return word_set();
      case 'W':
        return complement(word_set());
      case 's':
        return space_set();
      case 'S':
        return complement(space_set());
      case 'n':
        return one('\n');
      case 'r':
        return one('\r');
      case 't':
        return one('\t');
      case 'f':
        return one('\f');
      case 'v':
        return one('\v');
      case 'a':
        return one('\a');
      case 'e':
        return one(0x1B);
      case '0':
        return one(0);
      case 'x':
      case 'u': {
        if (pos_ < end_ && p_[pos_] == '{') return one(parse_braced_hex(start, c));
        uint32_t v = parse_hex_escape(start, c == 'x' ? 2 : 4);
        return one(check_code_point(start, v));
      }
      case 'b':
        if (in_class) return one('\b');
        fail(start, "word boundaries (\\b) are not supported");
      case 'B':
        fail(start, "word boundaries (\\B) are not supported");
      case 'A':
      case 'z':
      case 'Z':
      case 'G':
        fail(start,
             "anchors inside the pattern are not supported (the whole output always matches)");
      case 'p':
      case 'P':
        fail(start, "Unicode property classes (\\p) are not supported");
      default:
        break;
    }
    if (c >= '1' && c <= '9') fail(start, "backreferences are not supported");
    auto uc = static_cast<unsigned char>(c);
    if (uc < 0x80 && !std::isalnum(uc)) return one(uc);
    fail(start, std::string("unknown escape \\") + c);
  }

  int parse_class() {
    size_t start = pos_;
    ++pos_;  // '['
    bool negate = false;
    if (pos_ < end_ && p_[pos_] == '^') negate = true, ++pos_;
    std::vector<CodeRange> ranges;
    // One endpoint: a code point, or a whole class from an escape (then `single` is false).
    auto item = [&](bool& single) -> std::vector<CodeRange> {
      if (p_[pos_] == '\\') {
        ++pos_;
        return parse_escape(true, single);
      }
      single = true;
      uint32_t cp = parse_utf8_char();
      return {{cp, cp}};
    };
    while (true) {
      if (pos_ >= end_) {
        // `[...$]`: the `$` we set aside as an anchor was really part of the class.
        if (pos_ == trailing_dollar_) {
          end_ = p_.size();
          continue;
        }
        fail(start, "missing ']'");
      }
      if (p_[pos_] == ']') {
        ++pos_;
        break;
      }
      size_t item_pos = pos_;
      bool single = false;
      std::vector<CodeRange> lo = item(single);
      bool range = pos_ + 1 < end_ && p_[pos_] == '-' && p_[pos_ + 1] != ']';
      if (!range) {
        ranges.insert(ranges.end(), lo.begin(), lo.end());
        continue;
      }
      ++pos_;  // '-'
      bool single_hi = false;
      std::vector<CodeRange> hi = item(single_hi);
      if (!single || !single_hi) fail(item_pos, "a class like \\d cannot end a range");
      if (hi[0].lo < lo[0].lo) fail(item_pos, "range out of order in character class");
      ranges.push_back({lo[0].lo, hi[0].lo});
    }
    std::vector<CodeRange> set = normalize(std::move(ranges));
    return add_class(negate ? complement(set) : set);
  }

  int parse_group(int depth) {
    size_t start = pos_;
    ++pos_;  // '('
    if (pos_ < end_ && p_[pos_] == '?') {
      ++pos_;
      if (pos_ < end_ && p_[pos_] == ':') {
        ++pos_;
      } else if (pos_ + 1 < end_ && (p_[pos_] == '<' || p_[pos_] == 'P' || p_[pos_] == '\'') &&
                 p_[pos_ + 1] != '=' && p_[pos_ + 1] != '!') {
        if (p_[pos_] == 'P') ++pos_;
        char close = p_[pos_] == '\'' ? '\'' : '>';
        if (p_[pos_] != '<' && p_[pos_] != '\'') fail(start, "unsupported group syntax");
        size_t name_end = p_.find(close, pos_ + 1);
        if (name_end == std::string_view::npos || name_end >= end_ || name_end == pos_ + 1) {
          fail(start, "bad group name");
        }
        for (size_t k = pos_ + 1; k < name_end; ++k) {
          auto ch = static_cast<unsigned char>(p_[k]);
          if (!std::isalnum(ch) && ch != '_') fail(k, "bad character in group name");
        }
        pos_ = name_end + 1;
      } else if (pos_ < end_ && (p_[pos_] == '=' || p_[pos_] == '!' || p_[pos_] == '<')) {
        fail(start, "lookaround assertions are not supported");
      } else {
        fail(start, "inline flags and other (?...) groups are not supported");
      }
    }
    int inner = parse_alt(depth + 1);
    if (pos_ >= end_ || p_[pos_] != ')') fail(start, "missing ')'");
    ++pos_;
    return inner;
  }

  int parse_atom(int depth) {
    char c = peek();
    switch (c) {
      case '(':
        return parse_group(depth);
      case '[':
        return parse_class();
      case '.':
        ++pos_;
        return add_class(complement({{'\n', '\n'}}));
      case '*':
      case '+':
      case '?':
        fail(pos_, "nothing to repeat");
      case '^':
        fail(pos_, "'^' is only supported at the start of the pattern");
      case '$':
        fail(pos_, "'$' is only supported at the end of the pattern");
      case '\\': {
        ++pos_;
        bool single = false;
        return add_class(parse_escape(false, single));
      }
      case '{':
        if (try_counted()) fail(pos_, "nothing to repeat");
        break;
      default:
        break;
    }
    uint32_t cp = parse_utf8_char();
    return add_class({{cp, cp}});
  }

  std::string_view p_;
  size_t pos_ = 0;
  size_t end_ = 0;
  size_t trailing_dollar_ = std::string_view::npos;
  RegexAst ast_;
};

}  // namespace

PatternError::PatternError(std::string_view pattern, size_t position, const std::string& what)
    : sgp::Error(describe(pattern, position, what)), position_(position), reason_(what) {}

RegexAst parse_regex(std::string_view pattern) {
  return Parser(pattern).run();
}

std::string regex_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
      case '.':
      case '^':
      case '$':
      case '|':
      case '?':
      case '*':
      case '+':
      case '(':
      case ')':
      case '[':
      case ']':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace sgp::constraint
