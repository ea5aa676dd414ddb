// Jump-forward on the fake model with real regex constraints: outputs match the pattern with it
// on and off, forced text costs no forward of its own, and the tokens spell the text.
#include <doctest/doctest.h>

#include <regex>

#include "constraint/constraint_factory.h"
#include "constraint/vocabulary.h"
#include "harness.h"

using namespace sgp;
using namespace sgp::test;

namespace {

// Long literal keys between short choices: most of the output is forced.
const char* kPattern =
    "person\\.name\\.(bob|alice|eve),person\\.city\\.[a-z]{2,5},person\\.age\\.(young|old)!";

struct Run {
  std::vector<engine::GenerateResult> results;
  engine::EngineStats stats;
};

Run run_all(bool jump_forward, const char* pattern, float temperature, int n) {
  auto options = fake_options();
  options.jump_forward = jump_forward;
  Harness h(options);
  auto vocab = constraint::Vocabulary::from_tokenizer(*h.tokenizer);
  auto con = constraint::regex_constraint(pattern, vocab);
  Run out;
  for (int i = 0; i < n; ++i) {
    auto req = greedy(make_prompt(6, static_cast<uint64_t>(i)), 200);
    req.sampling.temperature = temperature;
    req.sampling.seed = static_cast<uint64_t>(100 + i);
    req.sampling.constraint = con;
    req.sampling.logprobs = 1;
    out.results.push_back(h.generate(req));
  }
  out.stats = h.engine->stats();
  CHECK(h.all_pages_back());
  return out;
}

void check_valid(const Run& run, const char* pattern, const model::Tokenizer& tok) {
  const std::regex re(pattern);
  for (const auto& r : run.results) {
    CAPTURE(r.text);
    CHECK(r.finish == engine::FinishReason::Stop);
    CHECK(std::regex_match(r.text, re));
    CHECK(tok.decode(r.tokens) == r.text);
    CHECK(r.logprobs.size() == r.tokens.size());
  }
}

}  // namespace

TEST_CASE("jump-forward: outputs match the regex with it on and off, in fewer forwards") {
  FakeTokenizer tok;
  for (float temperature : {0.0f, 1.0f}) {
    CAPTURE(temperature);
    Run on = run_all(true, kPattern, temperature, 6);
    Run off = run_all(false, kPattern, temperature, 6);
    check_valid(on, kPattern, tok);
    check_valid(off, kPattern, tok);
    CHECK(off.stats.forced_tokens == 0);
    CHECK(on.stats.forced_tokens > 0);
    // Off: one forward per output token; on: the literal keys ride along with sampled tokens.
    uint64_t off_tokens = 0;
    for (const auto& r : off.results) off_tokens += r.tokens.size();
    CHECK(off.stats.steps >= off_tokens);
    CHECK(on.stats.steps * 2 < off.stats.steps);
    // Forced tokens are not sampled: they carry logprob 0 and no alternatives.
    size_t zero = 0;
    for (const auto& r : on.results)
      for (const auto& lp : r.logprobs) zero += lp.logprob == 0.0f && lp.top.empty();
    CHECK(zero >= on.stats.forced_tokens);
  }
}

TEST_CASE("jump-forward: a fully forced output needs no forward") {
  FakeTokenizer tok;
  const char* fixed = "hello\\.world!";
  Run on = run_all(true, fixed, 1.0f, 3);
  Run off = run_all(false, fixed, 1.0f, 3);
  check_valid(on, fixed, tok);
  check_valid(off, fixed, tok);
  CHECK(on.stats.steps == 0);
  CHECK(off.stats.steps == 3 * off.results[0].tokens.size());
}

TEST_CASE("jump-forward: the sampled token and the forced text are tokenized together") {
  // After "a" the pattern forces "b": the two become the single token "ab" of the vocabulary.
  FakeTokenizer tok;
  const char* pat = "(ab|cd)x[a-z]";
  Run on = run_all(true, pat, 1.0f, 8);
  check_valid(on, pat, tok);
  for (const auto& r : on.results) {
    CAPTURE(r.text);
    REQUIRE(r.tokens.size() == 3);  // "ab"/"cd", "x", a letter
    CHECK(std::vector<int32_t>{r.tokens[0]} == tok.encode(r.text.substr(0, 2), false));
  }
}
