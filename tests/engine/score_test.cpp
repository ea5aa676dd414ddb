// Tests of score requests on the fake model: continuation log-probabilities against the
// reference, prefix computed once and shared, cache on and off.
#include <doctest/doctest.h>

#include <thread>

#include "engine/sampler.h"
#include "harness.h"

using namespace sgp;
using namespace sgp::test;

namespace {
std::vector<float> reference_logprobs(const std::vector<int32_t>& prefix,
                                      const std::vector<int32_t>& cont) {
  std::vector<int32_t> h = prefix;
  std::vector<float> out;
  for (int32_t t : cont) {
    std::vector<float> lsm;
    engine::log_softmax(fake_logits(h, 0), lsm);
    out.push_back(lsm[static_cast<size_t>(t)]);
    h.push_back(t);
  }
  return out;
}
}  // namespace

TEST_CASE("score: continuation logprobs equal the reference; the prefix runs once") {
  // device: the backend returns each row's target log-probability instead of the row.
  for (auto [radix, device] : {std::pair{true, false}, {false, false}, {true, true}}) {
    CAPTURE(radix);
    CAPTURE(device);
    auto o = fake_options();
    o.radix_cache = radix;
    Harness h(o);
    h.backend->device_sampling = device;
    engine::ScoreRequest r;
    r.prefix = make_prompt(41, 8);
    r.continuations = {{5, 6, 7}, {5, 6, 8}, {9}, {}, {10, 11, 12, 13, 14}};
    auto res = h.score(r);
    CHECK(res.error.empty());
    REQUIRE(res.choices.size() == 5);
    for (size_t c = 0; c < 5; ++c) {
      auto want = reference_logprobs(r.prefix, r.continuations[c]);
      REQUIRE(res.choices[c].token_logprobs.size() == want.size());
      float sum = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        CHECK(res.choices[c].token_logprobs[i] == doctest::Approx(want[i]).epsilon(1e-5));
        sum += want[i];
      }
      CHECK(res.choices[c].sum == doctest::Approx(sum).epsilon(1e-5));
    }
    // 40 prefix tokens once, then per continuation its tokens minus one plus the prefix's last.
    CHECK(h.backend->tokens == 40 + 3 + 3 + 1 + 5);
    // Continuations ran side by side.
    CHECK(h.backend->max_seqs >= 4);
    CHECK(h.backend->rows_scored == (device ? 3 + 3 + 1 + 5 : 0));
    h.engine->clear_cache();
    CHECK(h.all_pages_back());
  }
}

TEST_CASE("score: requests sharing a long preamble prefill it once with the cache on") {
  auto preamble = make_prompt(120, 3);
  std::vector<engine::ScoreRequest> rs;
  for (int q = 0; q < 6; ++q) {
    engine::ScoreRequest r;
    r.prefix = preamble;
    auto question = make_prompt(6, 50 + static_cast<uint64_t>(q));
    r.prefix.insert(r.prefix.end(), question.begin(), question.end());
    r.continuations = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
    rs.push_back(r);
  }
  int tokens[2];
  for (bool radix : {true, false}) {
    auto o = fake_options();
    o.radix_cache = radix;
    Harness h(o);
    std::vector<std::promise<engine::ScoreResult>> done(rs.size());
    h.gate();
    int base = h.backend->tokens;
    for (size_t i = 0; i < rs.size(); ++i) {
      auto r = rs[i];
      r.on_done = [p = &done[i]](engine::ScoreResult res) { p->set_value(std::move(res)); };
      h.engine->submit(r);
    }
    h.release();
    for (size_t i = 0; i < rs.size(); ++i) {
      auto res = done[i].get_future().get();
      REQUIRE(res.choices.size() == 4);
      for (size_t c = 0; c < 4; ++c)
        CHECK(res.choices[c].sum ==
              doctest::Approx(reference_logprobs(rs[i].prefix, rs[i].continuations[c])[0] +
                              reference_logprobs(rs[i].prefix, rs[i].continuations[c])[1])
                  .epsilon(1e-5));
    }
    tokens[radix ? 0 : 1] = h.backend->tokens - base;
    if (radix) CHECK(h.engine->stats().cached_tokens >= 5 * 120);
  }
  CHECK(tokens[1] == 6 * (125 + 8));
  CHECK(tokens[0] <= 125 + 5 * 8 + 6 * 8);
}

TEST_CASE("score: bad requests fail clearly") {
  Harness h(fake_options(16));
  engine::ScoreRequest empty;
  empty.continuations = {{1}};
  CHECK(!h.score(empty).error.empty());
  engine::ScoreRequest big;
  big.prefix = make_prompt(100, 1);
  big.continuations = {{1}};
  CHECK(h.score(big).error.find("KV") != std::string::npos);
  engine::ScoreRequest bad;
  bad.prefix = {1, 2};
  bad.continuations = {{1, 1000}};
  CHECK(!h.score(bad).error.empty());
  engine::ScoreRequest none;
  none.prefix = {1, 2};
  auto res = h.score(none);
  CHECK(res.error.empty());
  CHECK(res.choices.empty());
}
