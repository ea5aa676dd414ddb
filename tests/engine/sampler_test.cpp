// Tests of Sampler: greedy, masks, top-k/top-p/min-p, seeds, penalties, logprobs.
#include "engine/sampler.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using sgp::engine::Sampler;
using sgp::engine::SamplingParams;
using sgp::engine::TokenLogprob;
using sgp::engine::TokenMask;

namespace {
SamplingParams temp(float t) {
  SamplingParams p;
  p.temperature = t;
  return p;
}
}  // namespace

TEST_CASE("sampler: greedy takes the argmax, and masks apply before it") {
  std::vector<float> l{0.1f, 3.0f, 2.0f, -1.0f};
  Sampler s(temp(0.0f), 1, {});
  CHECK(s.sample(l, {}, nullptr) == 1);
  std::vector<int32_t> banned{1};
  TokenMask m;
  m.banned = banned;
  CHECK(s.sample(l, m, nullptr) == 2);
  std::vector<uint64_t> allowed{1u << 3};
  TokenMask only3;
  only3.allowed = &allowed;
  CHECK(s.sample(l, only3, nullptr) == 3);
  std::vector<int32_t> extra{0};
  only3.also_allowed = extra;
  CHECK(s.sample(l, only3, nullptr) == 0);
  std::vector<uint64_t> none{0};
  TokenMask empty;
  empty.allowed = &none;
  CHECK(s.sample(l, empty, nullptr) == -1);
}

TEST_CASE("sampler: top-k 1, a tiny top-p and min-p 1 all reduce to the argmax") {
  std::vector<float> l{0.5f, 0.4f, 0.6f, 0.3f};
  for (int mode = 0; mode < 3; ++mode) {
    SamplingParams p = temp(1.0f);
    if (mode == 0) p.top_k = 1;
    if (mode == 1) p.top_p = 0.01f;
    if (mode == 2) p.min_p = 1.0f;
    Sampler s(p, 7, {});
    for (int i = 0; i < 50; ++i) CHECK(s.sample(l, {}, nullptr) == 2);
  }
}

TEST_CASE("sampler: top-k keeps only the k best") {
  std::vector<float> l{0.0f, 5.0f, 4.9f, 4.8f, -3.0f};
  SamplingParams p = temp(5.0f);
  p.top_k = 2;
  Sampler s(p, 3, {});
  std::vector<int> seen(5, 0);
  for (int i = 0; i < 400; ++i) ++seen[static_cast<size_t>(s.sample(l, {}, nullptr))];
  CHECK(seen[1] > 0);
  CHECK(seen[2] > 0);
  CHECK(seen[0] + seen[3] + seen[4] == 0);
}

TEST_CASE("sampler: the same seed gives the same draws; frequencies follow the softmax") {
  std::vector<float> l{1.0f, 0.0f, 2.0f};
  Sampler a(temp(1.0f), 42, {}), b(temp(1.0f), 42, {}), c(temp(1.0f), 43, {});
  std::vector<int32_t> da, db, dc;
  std::vector<int> count(3, 0);
  for (int i = 0; i < 3000; ++i) {
    da.push_back(a.sample(l, {}, nullptr));
    db.push_back(b.sample(l, {}, nullptr));
    dc.push_back(c.sample(l, {}, nullptr));
    ++count[static_cast<size_t>(da.back())];
  }
  CHECK(da == db);
  CHECK(da != dc);
  double z = std::exp(1.0) + 1.0 + std::exp(2.0);
  CHECK(count[2] / 3000.0 == doctest::Approx(std::exp(2.0) / z).epsilon(0.08));
  CHECK(count[1] / 3000.0 == doctest::Approx(1.0 / z).epsilon(0.15));
}

TEST_CASE("sampler: frequency, presence and repetition penalties") {
  std::vector<float> l{1.0f, 0.9f, -1.0f, -1.2f};
  SamplingParams f = temp(0.0f);
  f.frequency_penalty = 0.06f;
  Sampler sf(f, 0, {});
  CHECK(sf.sample(l, {}, nullptr) == 0);
  sf.accept(0);
  CHECK(sf.sample(l, {}, nullptr) == 0);  // 1.0 - 0.06 > 0.9
  sf.accept(0);
  CHECK(sf.sample(l, {}, nullptr) == 1);  // 1.0 - 0.12 < 0.9

  SamplingParams pr = temp(0.0f);
  pr.presence_penalty = 0.2f;
  Sampler sp(pr, 0, {});
  sp.accept(0);
  CHECK(sp.sample(l, {}, nullptr) == 1);

  SamplingParams r = temp(0.0f);
  r.repetition_penalty = 2.0f;
  std::vector<int32_t> prompt{0};
  Sampler sr(r, 0, prompt);
  CHECK(sr.sample(l, {}, nullptr) == 1);  // 1.0 / 2 < 0.9
  std::vector<float> neg{-1.0f, -1.5f};
  Sampler sn(r, 0, prompt);
  CHECK(sn.sample(neg, {}, nullptr) == 1);  // -1.0 * 2 < -1.5
}

TEST_CASE("sampler: logprobs come from the model's distribution, best first") {
  std::vector<float> l{1.0f, 3.0f, 2.0f, 0.0f};
  SamplingParams p = temp(0.0f);
  p.logprobs = 3;
  p.presence_penalty = 100.0f;  // penalties shape the choice, not the reported logprobs
  Sampler s(p, 0, {});
  s.accept(1);
  TokenLogprob lp;
  CHECK(s.sample(l, {}, &lp) == 2);
  double z = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + 1.0);
  CHECK(lp.token == 2);
  CHECK(lp.logprob == doctest::Approx(2.0 - z));
  REQUIRE(lp.top.size() == 3);
  CHECK(lp.top[0].first == 1);
  CHECK(lp.top[1].first == 2);
  CHECK(lp.top[2].first == 0);
  CHECK(lp.top[0].second == doctest::Approx(3.0 - z));
}
