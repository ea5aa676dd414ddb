// Tests for UTF-8 range splitting, DFA construction, minimization and forced text.
#include "constraint/dfa.h"

#include <doctest/doctest.h>
#include <re2/re2.h>

#include <random>
#include <set>

#include "constraint/utf8_ranges.h"
#include "test_data.h"

using namespace sgp::constraint;

namespace {

std::string encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

bool covered(const std::vector<std::vector<ByteRange>>& seqs, const std::string& bytes) {
  for (const auto& seq : seqs) {
    if (seq.size() != bytes.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < seq.size(); ++i) {
      auto b = static_cast<uint8_t>(bytes[i]);
      ok = ok && b >= seq[i].lo && b <= seq[i].hi;
    }
    if (ok) return true;
  }
  return false;
}

// Whether states p and q accept the same language (breadth-first over state pairs).
bool equivalent(const Dfa& dfa, int32_t p, int32_t q) {
  std::set<std::pair<int32_t, int32_t>> seen{{p, q}};
  std::vector<std::pair<int32_t, int32_t>> todo{{p, q}};
  while (!todo.empty()) {
    auto [a, b] = todo.back();
    todo.pop_back();
    if ((a < 0) != (b < 0)) return false;
    if (a < 0) continue;
    if (dfa.accepting(a) != dfa.accepting(b)) return false;
    for (int c = 0; c < 256; ++c) {
      std::pair<int32_t, int32_t> next{dfa.next(a, static_cast<uint8_t>(c)),
                                       dfa.next(b, static_cast<uint8_t>(c))};
      if (seen.insert(next).second) todo.push_back(next);
    }
  }
  return true;
}

}  // namespace

TEST_CASE("utf8_sequences encode exactly the code points of a range") {
  std::mt19937 rng(7);
  const std::vector<CodeRange> ranges = {
      {0, 0x7F},           {0x7F, 0x80},   {0x7F, 0x800},      {0x7FF, 0x10000}, {0xE000, 0xFFFF},
      {0x10000, 0x10FFFF}, {0x3B1, 0x3C9}, {0x1F600, 0x1F64F}, {0x2FFF, 0x3041}, {0x80, 0xD7FF}};
  for (CodeRange r : ranges) {
    auto seqs = utf8_sequences(r);
    for (uint32_t cp : {r.lo, r.hi, (r.lo + r.hi) / 2}) CHECK(covered(seqs, encode(cp)));
    for (int i = 0; i < 2000; ++i) {
      uint32_t cp = std::uniform_int_distribution<uint32_t>(0, 0x10FFFF)(rng);
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      bool inside = cp >= r.lo && cp <= r.hi;
      CHECK_MESSAGE(covered(seqs, encode(cp)) == inside, "cp " << cp);
    }
    if (r.lo > 0) CHECK_FALSE(covered(seqs, encode(r.lo - 1)));
    if (r.hi < 0x10FFFF && r.hi + 1 != 0xD800) CHECK_FALSE(covered(seqs, encode(r.hi + 1)));
  }
}

TEST_CASE("minimization gives the textbook state counts") {
  CHECK(Dfa::from_pattern("(a|b)*abb").n_states() == 4);
  CHECK(Dfa::from_pattern("a*|a*").n_states() == 1);
  CHECK(Dfa::from_pattern("(a|b)*").n_states() == 1);
  CHECK(Dfa::from_pattern("abc|abd").n_states() == 4);
  CHECK(Dfa::from_pattern("(aa)*").n_states() == 2);
  CHECK(Dfa::from_pattern("[0-9]{3}").n_states() == 4);
  CHECK(Dfa::from_pattern("(x|y)(x|y)|xx|yy").n_states() == 3);
  CHECK(Dfa::from_pattern("(foo|bar)(foo|bar)*").n_states() == 6);
}

TEST_CASE("minimized automata have no two equivalent states") {
  for (const std::string& pattern : testing::load_regexes()) {
    Dfa dfa = Dfa::from_pattern(pattern);
    if (dfa.n_states() > 80) continue;  // pairwise check is quadratic
    for (int32_t p = 0; p < dfa.n_states(); ++p)
      for (int32_t q = p + 1; q < dfa.n_states(); ++q)
        CHECK_MESSAGE(!equivalent(dfa, p, q), pattern << " states " << p << "," << q);
  }
}

TEST_CASE("byte automata agree with RE2 on random strings") {
  std::mt19937 rng(11);
  for (const std::string& pattern : testing::load_regexes()) {
    RE2 re(pattern);
    REQUIRE_MESSAGE(re.ok(), pattern);
    Dfa dfa = Dfa::from_pattern(pattern);
    // Strings from the pattern's own characters plus a few others, so matches happen.
    std::string alphabet = pattern + "abz019 \n\"é日";
    int matches = 0;
    for (int i = 0; i < 3000; ++i) {
      std::string s;
      int len = std::uniform_int_distribution<int>(0, 12)(rng);
      for (int k = 0; k < len; ++k)
        s += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      bool valid_utf8 = RE2::FullMatch(s, RE2("(?s).*"));
      if (!valid_utf8) continue;
      bool expect = RE2::FullMatch(s, re);
      matches += expect;
      CHECK_MESSAGE(dfa.full_match(s) == expect, pattern << " on \"" << s << "\"");
    }
    (void)matches;
  }
}

TEST_CASE("automata only accept well-formed UTF-8") {
  Dfa any = Dfa::from_pattern("(?:.|\\n)*");
  CHECK(any.full_match("héllo 日本 😀"));
  CHECK_FALSE(any.full_match("\xff"));
  CHECK_FALSE(any.full_match("\xC0\x80"));          // overlong NUL
  CHECK_FALSE(any.full_match("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(any.full_match("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(any.full_match("\xE6\x97"));          // truncated
  Dfa dot = Dfa::from_pattern(".");
  CHECK_FALSE(dot.full_match("\n"));
  CHECK(dot.full_match("\xF0\x9F\x98\x80"));
}

TEST_CASE("forced text runs to the next choice or accepting state") {
  Dfa dfa = Dfa::from_pattern("\\{\"name\":\"[a-z]+\",\"age\":\\d+\\}");
  CHECK(dfa.forced_text(0) == "{\"name\":\"");
  int32_t s = dfa.walk(0, "{\"name\":\"bob");
  REQUIRE(s >= 0);
  CHECK(dfa.forced_text(s).empty());
  s = dfa.walk(0, "{\"name\":\"bob\"");
  CHECK(dfa.forced_text(s) == ",\"age\":");
  Dfa opt = Dfa::from_pattern("(abc)?");
  CHECK(opt.forced_text(0).empty());
  CHECK(opt.forced_text(opt.walk(0, "a")) == "bc");
  // é and è share their first byte: half a character is never forced.
  Dfa accents = Dfa::from_pattern("x(é|è)");
  CHECK(accents.forced_text(0) == "x");
  CHECK(accents.forced_text(accents.walk(0, "x\xC3")).empty());
  Dfa emoji = Dfa::from_pattern("\\x{1F600}!");
  CHECK(emoji.forced_text(0) == "\xF0\x9F\x98\x80!");
}

TEST_CASE("empty languages give an empty automaton") {
  CHECK(Dfa::from_pattern("[]").empty());
  CHECK(Dfa::from_pattern("a[]|[^\\d\\D]").empty());
  CHECK_FALSE(Dfa::from_pattern("a|[]").empty());
}
