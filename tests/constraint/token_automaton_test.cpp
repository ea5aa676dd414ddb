// Tests for token automata on synthetic vocabularies: masks, targets, dead ends, threads.
#include "constraint/token_automaton.h"

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "constrained_driver.h"
#include "constraint/constraint_factory.h"
#include "constraint/regex_parser.h"

using namespace sgp::constraint;

namespace {

// Every single byte plus multi-byte tokens that span several DFA transitions and UTF-8 characters
// (whole, split in the middle, or crossing a character boundary); two special tokens at the end.
std::shared_ptr<const Vocabulary> synthetic_vocab() {
  std::vector<std::string> toks;
  for (int b = 0; b < 256; ++b) toks.push_back(std::string(1, static_cast<char>(b)));
  for (const char* t : {"ab",    "abc",   "abcd", "bc",   "cd",   "12",       "123",    "2024",
                        "-0",    "\":",   "{\"",  "\"}",  "true", "tr",       "ue",     "false",
                        "null",  "é",     "\xC3", "\xA9", "日本", "\xE6\x97", "\xA5",   "é日",
                        "\xA9x", "héllo", "  ",   "\n",   "a\n",  "<|eos|>",  "<|sep|>"}) {
    toks.push_back(t);
  }
  toks.push_back("ab");  // a duplicate string under another id
  std::vector<bool> excluded(toks.size(), false);
  excluded[toks.size() - 3] = excluded[toks.size() - 2] = true;
  return std::make_shared<const Vocabulary>(toks, excluded);
}

std::set<int32_t> allowed(const sgp::engine::TokenConstraint& c, int32_t state) {
  std::vector<uint64_t> mask;
  c.allowed_tokens(state, mask);
  std::set<int32_t> out;
  for (size_t w = 0; w < mask.size(); ++w)
    for (int b = 0; b < 64; ++b)
      if (mask[w] >> b & 1) out.insert(static_cast<int32_t>(w * 64 + b));
  return out;
}

// Brute force: states from which some token sequence reaches acceptance.
std::vector<bool> can_finish(const Dfa& dfa, const Vocabulary& v) {
  std::vector<bool> ok(dfa.n_states());
  for (int32_t s = 0; s < dfa.n_states(); ++s) ok[s] = dfa.accepting(s);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t s = 0; s < dfa.n_states(); ++s) {
      if (ok[s]) continue;
      for (int32_t t = 0; t < v.size() && !ok[s]; ++t) {
        if (v.excluded(t)) continue;
        int32_t n = dfa.walk(s, v.bytes(t));
        if (n >= 0 && ok[n]) ok[s] = changed = true;
      }
    }
  }
  return ok;
}

}  // namespace

TEST_CASE("masks equal a brute-force walk of every token") {
  auto vocab = synthetic_vocab();
  for (const char* pattern :
       {"abcd(ab)*", "[0-9]{1,4}-?[0-9]*", "(true|false|null)", "\\{\"[a-z]+\":[0-9]+\"\\}",
        "(é|日本)+x?", "h(é|e)llo\\n?", "[^a]{2,3}", "(ab|abc)(cd|d)", ".{0,3}"}) {
    CAPTURE(pattern);
    TokenAutomaton a(Dfa::from_pattern(pattern), vocab, "test");
    const Dfa& dfa = a.dfa();
    std::vector<bool> finish = can_finish(dfa, *vocab);
    for (int32_t s = 0; s < a.n_states(); ++s) {
      std::set<int32_t> expect;
      for (int32_t t = 0; t < vocab->size(); ++t) {
        if (vocab->excluded(t)) continue;
        int32_t n = dfa.walk(s, vocab->bytes(t));
        if (finish[s] && n >= 0 && finish[n]) expect.insert(t);
        CHECK(a.next_state(s, t) == (expect.count(t) ? n : -1));
      }
      CHECK(allowed(a, s) == expect);
      CHECK(a.finished(s) == expect.empty());
    }
  }
}

TEST_CASE("tokens spanning transitions and UTF-8 characters land in the right state") {
  auto vocab = synthetic_vocab();
  TokenAutomaton a(Dfa::from_pattern("héllo 日本"), vocab, "test");
  auto id = [&](const std::string& s) {
    for (int32_t t = 0; t < vocab->size(); ++t)
      if (vocab->bytes(t) == s && !vocab->excluded(t)) return t;
    return -1;
  };
  int32_t s = a.next_state(a.start_state(), id("héllo"));
  REQUIRE(s >= 0);
  CHECK(a.next_state(s, id(" ")) >= 0);
  s = a.next_state(s, id(" "));
  int32_t half = a.next_state(s, id("\xE6\x97"));  // half of 日
  REQUIRE(half >= 0);
  CHECK(a.next_state(half, id("\xA5")) >= 0);
  CHECK(a.next_state(half, id("日本")) == -1);
  CHECK(a.next_state(s, id("日本")) >= 0);
  CHECK(a.accepting(a.next_state(s, id("日本"))));
  CHECK(a.finished(a.next_state(s, id("日本"))));
  // A token crossing a character boundary: the rest of é then "x".
  TokenAutomaton b(Dfa::from_pattern("éx"), vocab, "test");
  int32_t lead = b.next_state(0, id("\xC3"));
  REQUIRE(lead >= 0);
  CHECK(b.accepting(b.next_state(lead, id("\xA9x"))));
}

TEST_CASE("excluded tokens are never allowed and a bigger mask keeps its size") {
  auto vocab = synthetic_vocab();
  TokenAutomaton a(Dfa::from_pattern("(?:.|\\n)*"), vocab, "test");
  std::vector<uint64_t> mask(20, ~uint64_t{0});
  a.allowed_tokens(0, mask);
  CHECK(mask.size() == 20);
  for (int32_t t = 0; t < vocab->size(); ++t) {
    bool bit = mask[t / 64] >> (t % 64) & 1;
    CHECK(bit == (!vocab->excluded(t) && a.next_state(0, t) >= 0));
  }
  for (size_t w = (vocab->size() + 63) / 64; w < mask.size(); ++w) CHECK(mask[w] == 0);
  CHECK(vocab->excluded(vocab->size() - 2));
  CHECK_FALSE(allowed(a, 0).count(vocab->size() - 2));
}

TEST_CASE("dead ends are pruned: the sampler never gets stuck") {
  // "b" only exists inside the token "ab"; after "a" alone nothing can finish "ab|c".
  std::vector<std::string> toks = {"a", "ab", "c", "x"};
  auto vocab = std::make_shared<const Vocabulary>(toks, std::vector<bool>(toks.size(), false));
  TokenAutomaton a(Dfa::from_pattern("ab|c"), vocab, "test");
  CHECK(allowed(a, 0) == std::set<int32_t>{1, 2});
  CHECK(a.next_state(0, 0) == -1);
  CHECK(a.next_state_bytes(0, "a") == -1);
  CHECK(a.next_state_bytes(0, "ab") >= 0);
}

TEST_CASE("vocabularies that cannot spell a match byte by byte get exact, eager liveness") {
  // No single-byte "b" or "c": after "ab" nothing can follow, so "ab" must not be offered.
  std::vector<std::string> toks = {"a", "ab", "bc", "abc"};
  auto vocab = std::make_shared<const Vocabulary>(toks, std::vector<bool>(toks.size(), false));
  TokenAutomaton a(Dfa::from_pattern("a(bc)+"), vocab, "test");
  CHECK_FALSE(a.lazy());
  CHECK(allowed(a, 0) == std::set<int32_t>{0, 3});  // "a" (then "bc") or "abc"
  int32_t s = a.next_state(0, 0);
  CHECK(allowed(a, s) == std::set<int32_t>{2});
  CHECK(a.accepting(a.next_state(s, 2)));
  TokenAutomaton lazy(Dfa::from_pattern("a(bc)+"), synthetic_vocab(), "test");
  CHECK(lazy.lazy());
}

TEST_CASE("unsatisfiable constraints fail at construction with a clear message") {
  std::vector<std::string> toks = {"a", "b", "ab"};
  auto vocab = std::make_shared<const Vocabulary>(toks, std::vector<bool>(toks.size(), false));
  CHECK_THROWS_WITH_AS(TokenAutomaton(Dfa::from_pattern("abc"), vocab, "regex"),
                       doctest::Contains("no sequence of tokens"), sgp::Error);
  CHECK_THROWS_WITH_AS(TokenAutomaton(Dfa::from_pattern("a[]"), vocab, "regex"),
                       doctest::Contains("empty"), sgp::Error);
  CHECK_THROWS_AS(regex_constraint("[c-z]+", vocab), sgp::Error);
  CHECK_THROWS_AS(regex_constraint("a(", vocab), PatternError);
  CHECK_NOTHROW(regex_constraint("(ab)+", vocab));
}

TEST_CASE("jump-forward state follows the text, however it is split") {
  auto vocab = synthetic_vocab();
  TokenAutomaton a(Dfa::from_pattern("\\{\"key\":(true|false)\\}"), vocab, "test");
  std::string forced = a.forced_text(0);
  CHECK(forced == "{\"key\":");
  int32_t s = a.next_state_bytes(0, forced);
  REQUIRE(s >= 0);
  CHECK(a.forced_text(s).empty());
  int32_t by_tokens = 0;
  for (char c : forced) by_tokens = a.next_state(by_tokens, static_cast<uint8_t>(c));
  CHECK(by_tokens == s);
  CHECK(a.next_state_bytes(0, "{\"kex") == -1);
}

TEST_CASE("a batch of requests with different constraints can run on several threads") {
  auto vocab = synthetic_vocab();
  std::vector<std::shared_ptr<const TokenAutomaton>> cs = {
      regex_constraint("[0-9]{1,6}", vocab), regex_constraint("(true|false|null)", vocab),
      regex_constraint("(é|日本)+", vocab), choices_constraint({"abc", "abcd", "cd"}, vocab)};
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const auto& c = *cs[(t + round) % cs.size()];
        testing::ConstrainedDriver driver(c, *vocab);
        testing::DriveOptions o;
        o.seed = static_cast<uint64_t>(t * 1000 + round);
        auto r = driver.run(o);
        if (!r.problem.empty() || !r.accepted || !c.dfa().full_match(r.text)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) CHECK(f == 0);
}
