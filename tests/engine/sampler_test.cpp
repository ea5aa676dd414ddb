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

namespace {
sgp::model::RowSample draw_of(float t, double u) {
  sgp::model::RowSample r;
  r.temperature = t;
  r.u = u;
  return r;
}
}  // namespace

TEST_CASE("sample_row: after a top-k cut the draw walks the kept tokens best first") {
  // Weights after the cut: id 1 -> 1, id 0 -> e^-0.5; id 2 is cut. Walking best first, a small
  // u lands on id 1 (in id order it would land on id 0).
  std::vector<float> l{1.5f, 2.0f, -5.0f};
  auto r = draw_of(1.0f, 0.1);
  r.top_k = 2;
  CHECK(sgp::engine::sample_row(l, r) == 1);
  r.u = 0.9;  // 0.9 * (1 + e^-0.5) = 1.446 > 1: past id 1
  CHECK(sgp::engine::sample_row(l, r) == 0);
  // Without a cut the walk is in id order: the small u lands on id 0 (weight e^-0.5 = 0.61,
  // total 1.61 plus e^-7).
  r.top_k = 0;
  r.u = 0.1;
  CHECK(sgp::engine::sample_row(l, r) == 0);
}

TEST_CASE("sample_row: top-p keeps equal logits in id order and never reaches past its cut") {
  std::vector<float> l{0.0f, 0.0f, 0.0f, 0.0f};
  auto r = draw_of(1.0f, 0.0);
  r.top_p = 0.5f;  // half of 4 equal weights: ids 0 and 1
  std::vector<int> seen(4, 0);
  for (int i = 0; i < 100; ++i) {
    r.u = (i + 0.5) / 100.0;
    ++seen[static_cast<size_t>(sgp::engine::sample_row(l, r))];
  }
  CHECK(seen[0] == 50);
  CHECK(seen[1] == 50);
  CHECK(seen[2] + seen[3] == 0);
}

TEST_CASE("sample_row: masks, a min_p above 1 and an empty candidate set") {
  std::vector<float> l{0.3f, 2.0f, 2.0f, 1.0f};
  auto r = draw_of(1.0f, 0.99);
  r.min_p = 5.0f;  // as 1: only the maxima (ids 1 and 2) stay
  CHECK(sgp::engine::sample_row(l, r) == 2);
  r.u = 0.2;
  CHECK(sgp::engine::sample_row(l, r) == 1);
  r.allowed = {0};  // nothing allowed...
  CHECK(sgp::engine::sample_row(l, r) == -1);
  r.also_allowed = {3};  // ...but id 3, at its raw logit
  r.min_p = 0.0f;
  CHECK(sgp::engine::sample_row(l, r) == 3);
  r.banned = {3};
  CHECK(sgp::engine::sample_row(l, r) == -1);
}

TEST_CASE("Sampler::device_draw carries the params, history and uniform that sample() uses") {
  SamplingParams p = temp(0.8f);
  p.top_k = 3;
  p.top_p = 0.9f;
  p.min_p = 0.01f;
  p.repetition_penalty = 1.5f;
  p.frequency_penalty = 0.25f;
  p.logprobs = 4;
  std::vector<int32_t> prompt{7, 3, 7};
  Sampler a(p, 99, prompt), b(p, 99, prompt);
  a.accept(5);
  a.accept(3);
  a.accept(5);
  b.accept(5);
  b.accept(3);
  b.accept(5);
  sgp::model::RowSample d = a.device_draw();
  CHECK(d.temperature == 0.8f);
  CHECK(d.top_k == 3);
  CHECK(d.top_p == 0.9f);
  CHECK(d.min_p == 0.01f);
  CHECK(d.logprobs == 4);
  CHECK(d.repetition_penalty == 1.5f);
  CHECK(d.frequency_penalty == 0.25f);
  // Prompt tokens (count 0) and outputs with their counts, sorted and unique.
  REQUIRE(d.penalized.size() == 3);
  CHECK(d.penalized[0].token == 3);
  CHECK(d.penalized[0].count == 1);
  CHECK(d.penalized[1].token == 5);
  CHECK(d.penalized[1].count == 2);
  CHECK(d.penalized[2].token == 7);
  CHECK(d.penalized[2].count == 0);
  CHECK(a.uses_history());
  CHECK_FALSE(Sampler(temp(1.0f), 1, prompt).uses_history());
  // The twin sampling on the host draws the same uniform, so both give the same tokens from here
  // on, mask included.
  std::vector<float> l(16);
  for (size_t i = 0; i < l.size(); ++i) l[i] = std::sin(static_cast<float>(i) * 1.7f) * 2.0f;
  std::vector<uint64_t> allowed{0xfff7};
  std::vector<int32_t> also{15}, banned{2};
  TokenMask m;
  m.allowed = &allowed;
  m.also_allowed = also;
  m.banned = banned;
  for (int i = 0; i < 50; ++i) {
    if (i > 0) d = a.device_draw();
    d.allowed = allowed;
    d.also_allowed = also;
    d.banned = banned;
    TokenLogprob la, lb;
    const int32_t ta = sgp::engine::sample_row(l, d, &la);
    const int32_t tb = b.sample(l, m, &lb);
    CHECK(ta == tb);
    CHECK(ta != 2);
    CHECK(ta != 3);
    CHECK(la.logprob == lb.logprob);
    CHECK(la.top == lb.top);
    a.accept(ta);
    b.accept(tb);
  }
  // Greedy draws consume no uniform: a greedy sampler's draws carry u = 0.
  Sampler g(temp(0.0f), 5, {});
  CHECK(g.device_draw().u == 0.0);
}

TEST_CASE("sample_row: logprobs list ties by id and come from the raw row") {
  std::vector<float> l{1.0f, 2.0f, 2.0f, 0.5f};
  auto r = draw_of(0.0f, 0.0);
  r.logprobs = 3;
  r.banned = {1, 2};  // the choice is masked; the reported distribution is not
  TokenLogprob lp;
  CHECK(sgp::engine::sample_row(l, r, &lp) == 0);
  REQUIRE(lp.top.size() == 3);
  CHECK(lp.top[0].first == 1);
  CHECK(lp.top[1].first == 2);
  CHECK(lp.top[2].first == 0);
  const double z = std::log(std::exp(1.0) + 2 * std::exp(2.0) + std::exp(0.5));
  CHECK(lp.logprob == doctest::Approx(1.0 - z));
}
