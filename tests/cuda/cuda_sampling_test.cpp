// The device sampler (kernels/cuda/sampling.cu) against the host's rule (engine::sample_row) on
// fresh random rows — every feature of model::RowSample alone and combined, the shared-memory
// and the radix-search paths, logprobs — and whole engine runs with device sampling on and off.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <random>
#include <regex>

#include "constraint/constraint_factory.h"
#include "constraint/vocabulary.h"
#include "engine/engine.h"
#include "engine/sampler.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/sampling.h"
#include "tests/cuda/gpu_test_util.h"
#include "tokenizer/synthetic_tokenizer.h"

using namespace sgp;
using namespace sgp::cuda::test;

namespace {

// A random draw: each feature on with some probability, so rows see them alone and combined.
model::RowSample random_draw(int vocab, std::mt19937_64& g) {
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  auto coin = [&](double p) { return u01(g) < p; };
  model::RowSample s;
  s.temperature = coin(0.15) ? 0.0f : static_cast<float>(0.2 + 2.0 * u01(g));
  if (coin(0.4)) {
    const int ks[] = {1, 2, 5, 40, 300, 3000, 5000, 20000};
    s.top_k = ks[g() % 8];
  }
  if (coin(0.4)) {
    const float ps[] = {0.05f, 0.3f, 0.8f, 0.9f, 0.95f, 0.999f};
    s.top_p = ps[g() % 6];
  }
  if (coin(0.25)) s.min_p = static_cast<float>(coin(0.5) ? 0.001 : 0.2 * u01(g));
  s.u = u01(g);
  if (coin(0.3)) {
    s.repetition_penalty = coin(0.7) ? 1.3f : 1.0f;
    s.frequency_penalty = coin(0.5) ? 0.4f : 0.0f;
    s.presence_penalty = coin(0.5) ? 0.7f : 0.0f;
    const int n = 1 + static_cast<int>(g() % 400);
    std::vector<int32_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>(g() % vocab));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int32_t t : ids) s.penalized.push_back({t, static_cast<int32_t>(g() % 4)});
  }
  if (coin(0.3)) {
    // A constraint's allowed set: dense or sparse, plus re-allowed ids (EOS-like).
    const double density = coin(0.5) ? 0.5 : 0.002;
    s.allowed.assign((static_cast<size_t>(vocab) + 63) / 64, 0);
    for (int t = 0; t < vocab; ++t)
      if (coin(density)) s.allowed[static_cast<size_t>(t) / 64] |= 1ull << (t % 64);
    for (int i = 0; i < 3; ++i) s.also_allowed.push_back(static_cast<int32_t>(g() % vocab));
  }
  if (coin(0.2))
    for (int i = 0; i < 3; ++i) s.banned.push_back(static_cast<int32_t>(g() % vocab));
  if (coin(0.3)) {
    const int ns[] = {1, 5, 20, 32};
    s.logprobs = ns[g() % 4];
  }
  return s;
}

std::span<const float> row_of(const std::vector<float>& logits, int vocab, int r) {
  return {logits.data() + static_cast<size_t>(r) * vocab, static_cast<size_t>(vocab)};
}

struct Outcome {
  int draws = 0, sampled = 0, mismatched = 0;
};

// Draws `samples` on the device and compares each with engine::sample_row: greedy rows and
// every logprob exactly (values within float rounding), sampled tokens up to rounding at a
// boundary (counted).
Outcome check_rows(const std::vector<float>& logits, int vocab,
                   const std::vector<model::RowSample>& samples) {
  const int rows = static_cast<int>(samples.size());
  auto d_logits = upload(logits);
  cuda::DrawBatch batch;
  for (int r = 0; r < rows; ++r) batch.add(r, samples[static_cast<size_t>(r)], vocab);
  cuda::DeviceSampler sampler;
  sampler.launch(d_logits.data(), vocab, batch, nullptr);
  SGP_CUDA_CHECK(cudaDeviceSynchronize());
  model::Logits out;
  sampler.results(batch, rows, out);
  REQUIRE(out.sampled.size() == static_cast<size_t>(rows));
  Outcome o;
  std::vector<float> lsm;
  for (int r = 0; r < rows; ++r) {
    const model::RowSample& s = samples[static_cast<size_t>(r)];
    CAPTURE(r);
    CAPTURE(s.temperature);
    CAPTURE(s.top_k);
    CAPTURE(s.top_p);
    CAPTURE(s.min_p);
    CAPTURE(s.u);
    CAPTURE(s.penalized.size());
    CAPTURE(s.allowed.size());
    CAPTURE(s.logprobs);
    engine::TokenLogprob lp;
    const int32_t want = engine::sample_row(row_of(logits, vocab, r), s, &lp);
    const int32_t got = out.sampled[static_cast<size_t>(r)];
    ++o.draws;
    if (want < 0) {
      CHECK(got == model::Logits::kNoToken);
      continue;
    }
    REQUIRE(got >= 0);
    REQUIRE(got < vocab);
    if (s.temperature <= 0.0f || s.top_k == 1) {
      CHECK(got == want);
    } else {
      ++o.sampled;
      o.mismatched += got != want;
    }
    if (s.logprobs > 0) {
      engine::log_softmax(row_of(logits, vocab, r), lsm);
      REQUIRE(out.sampled_logprob.size() == static_cast<size_t>(rows));
      CHECK(out.sampled_logprob[static_cast<size_t>(r)] ==
            doctest::Approx(lsm[static_cast<size_t>(got)]).epsilon(1e-6));
      const auto& top = out.sampled_top[static_cast<size_t>(r)];
      REQUIRE(top.size() == lp.top.size());
      for (size_t i = 0; i < top.size(); ++i) {
        CHECK(top[i].first == lp.top[i].first);
        if (std::isinf(lp.top[i].second))  // a -inf logit (Approx cannot take infinities)
          CHECK(top[i].second == lp.top[i].second);
        else
          CHECK(top[i].second == doctest::Approx(lp.top[i].second).epsilon(1e-6));
      }
    }
  }
  return o;
}

}  // namespace

TEST_CASE("device sampler: every RowSample feature, alone and combined, draws the host's token") {
  std::mt19937_64 g(rng()());
  int sampled = 0, mismatched = 0;
  for (int vocab : {7, 1000, 50000, 128256}) {
    CAPTURE(vocab);
    const int rows = vocab > 60000 ? 192 : 256;
    std::vector<float> logits = randn(static_cast<size_t>(rows) * vocab, 3.0f);
    // Ties (the lowest id first), -inf entries and rows of few distinct values.
    for (int r = 0; r < rows; r += 5) {
      float* x = logits.data() + static_cast<size_t>(r) * vocab;
      x[vocab / 2] = x[vocab / 3] = 25.0f;
    }
    for (int r = 1; r < rows; r += 7)
      for (int i = 0; i < vocab; i += 3) logits[static_cast<size_t>(r) * vocab + i] = -INFINITY;
    for (int r = 2; r < rows; r += 9)
      for (int i = 0; i < vocab; ++i) {
        float& v = logits[static_cast<size_t>(r) * vocab + i];
        v = std::round(v);
      }
    std::vector<model::RowSample> samples;
    for (int r = 0; r < rows; ++r) samples.push_back(random_draw(vocab, g));
    // A mask that leaves nothing: no token, not a crash.
    samples[3].allowed.assign((static_cast<size_t>(vocab) + 63) / 64, 0);
    samples[3].also_allowed.clear();
    const Outcome o = check_rows(logits, vocab, samples);
    sampled += o.sampled;
    mismatched += o.mismatched;
  }
  MESSAGE("sampled draws differing from the host's: " << mismatched << " of " << sampled);
  // Sums in another order move a draw only where u lands within rounding of a boundary.
  CHECK(mismatched <= 2);
}

TEST_CASE("device sampler: kept sets beyond shared memory and huge ties take the exact search") {
  std::mt19937_64 g(rng()());
  const int vocab = 128256, rows = 48;
  std::vector<float> logits = randn(static_cast<size_t>(rows) * vocab, 1.0f);
  std::vector<model::RowSample> samples;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int r = 0; r < rows; ++r) {
    model::RowSample s;
    s.u = u01(g);
    float* x = logits.data() + static_cast<size_t>(r) * vocab;
    switch (r % 6) {
      case 0:  // flat: top-p 0.99 keeps ~100k tokens
        s.temperature = 3.0f;
        s.top_p = 0.99f;
        break;
      case 1:  // a top-k far beyond shared memory, then top-p inside it
        s.temperature = 1.0f;
        s.top_k = 60000;
        s.top_p = 0.9f;
        break;
      case 2:  // ~7 distinct values: the k-th token sits in a tie of ~20k ids
        for (int i = 0; i < vocab; ++i) x[i] = std::round(x[i] * 2.0f);
        s.temperature = 1.0f;
        s.top_k = 30000 + static_cast<int>(g() % 20000);
        break;
      case 3:  // the top-p cut and the draw land inside a tie of thousands
        for (int i = 0; i < vocab; ++i) x[i] = std::round(x[i]);
        s.temperature = 2.0f;
        s.top_p = 0.5f;
        break;
      case 4:  // all equal: order by id only
        for (int i = 0; i < vocab; ++i) x[i] = 0.5f;
        s.temperature = 1.0f;
        s.top_p = 0.3f;
        s.top_k = r % 12 == 4 ? 70000 : 0;
        break;
      default:  // min-p keeping many, top-k among them, penalties and logprobs
        s.temperature = 4.0f;
        s.min_p = 0.05f;
        s.top_k = 10000;
        s.top_p = 0.97f;
        s.repetition_penalty = 1.2f;
        for (int t = 0; t < 2000; ++t) s.penalized.push_back({t * 37, t % 3});
        s.logprobs = 20;
        break;
    }
    samples.push_back(s);
  }
  const Outcome o = check_rows(logits, vocab, samples);
  MESSAGE("sampled draws differing from the host's: " << o.mismatched << " of " << o.sampled);
  CHECK(o.mismatched <= 1);
}

TEST_CASE("device sampler: a Sampler drawn on the device gives the tokens of its host twin") {
  // Same seed, one sampled on the host and one through device_draw(): the RNG is consumed alike,
  // the penalty history follows the accepted tokens, so the two streams stay equal.
  const int vocab = 5000, steps = 40;
  engine::SamplingParams p;
  p.temperature = 0.9f;
  p.top_k = 50;
  p.top_p = 0.9f;
  p.frequency_penalty = 0.5f;
  p.repetition_penalty = 1.1f;
  std::vector<int32_t> prompt{1, 2, 3, 40, 41};
  engine::Sampler host(p, 77, prompt), dev(p, 77, prompt);
  std::vector<float> logits = randn(static_cast<size_t>(steps) * vocab, 2.0f);
  auto d_logits = upload(logits);
  cuda::DeviceSampler sampler;
  int same = 0;
  for (int i = 0; i < steps; ++i) {
    const int32_t a = host.sample(row_of(logits, vocab, i), {}, nullptr);
    cuda::DrawBatch batch;
    batch.add(i, dev.device_draw(), vocab);
    sampler.launch(d_logits.data(), vocab, batch, nullptr);
    SGP_CUDA_CHECK(cudaDeviceSynchronize());
    model::Logits out;
    sampler.results(batch, steps, out);
    const int32_t b = out.sampled[static_cast<size_t>(i)];
    same += a == b;
    host.accept(a);
    dev.accept(a);  // the host's token, so one rounding difference does not fork the streams
  }
  CHECK(same >= steps - 1);
}

namespace {

const char* kPattern = "( w[0-9]{3}){2,6}\\.";

std::vector<engine::GenerateResult> run_engine(bool device_sampling) {
  auto backend = model::make_random_cuda_backend(engine_config(), 21);
  static_cast<cuda::CudaBackend*>(backend.get())->set_device_sampling(device_sampling);
  auto tok = std::make_shared<model::SyntheticTokenizer>(engine_config().n_vocab);
  auto vocab = constraint::Vocabulary::from_tokenizer(*tok);
  auto con = constraint::regex_constraint(kPattern, vocab);
  engine::EngineOptions o;
  o.kv_memory_bytes = 64u << 20;
  engine::Engine eng(std::move(backend), tok, o);
  std::mt19937 gen(5);
  const int n = 24;
  std::vector<std::promise<engine::GenerateResult>> ps(n);
  std::vector<std::future<engine::GenerateResult>> fs;
  for (int i = 0; i < n; ++i) {
    engine::GenerateRequest r;
    for (int k = 0; k < 30 + i * 5; ++k)
      r.prompt.push_back(258 + static_cast<int32_t>(gen() % 1790));
    r.sampling.max_tokens = 32;
    r.sampling.seed = 500 + static_cast<uint64_t>(i);
    r.sampling.temperature = i % 4 == 0 ? 0.0f : 0.9f;
    switch (i % 6) {
      case 0:
        r.sampling.top_k = 20;
        break;
      case 1:
        r.sampling.top_p = 0.8f;
        r.sampling.logprobs = 5;
        break;
      case 2:
        r.sampling.frequency_penalty = 0.8f;
        r.sampling.presence_penalty = 0.5f;
        r.sampling.repetition_penalty = 1.3f;
        break;
      case 3:
        r.sampling.constraint = con;
        r.sampling.constraint_spec = {engine::ConstraintSpec::Kind::Regex, kPattern, {}};
        r.sampling.logprobs = 2;
        break;
      case 4:
        r.sampling.top_k = 100;
        r.sampling.top_p = 0.95f;
        r.sampling.min_p = 0.01f;
        r.sampling.min_tokens = 8;
        break;
      default:
        r.sampling.logprobs = 3;
        r.sampling.ignore_eos = true;
        break;
    }
    fs.push_back(ps[static_cast<size_t>(i)].get_future());
    r.on_done = [p = &ps[static_cast<size_t>(i)]](engine::GenerateResult res) {
      p->set_value(std::move(res));
    };
    eng.submit(std::move(r));
  }
  std::vector<engine::GenerateResult> out;
  for (auto& f : fs) out.push_back(f.get());
  return out;
}

}  // namespace

TEST_CASE(
    "engine on CUDA: top-k/top-p/penalties/logprobs/regex requests, same tokens on either side") {
  const auto host = run_engine(false);
  const auto dev = run_engine(true);
  const std::regex re(kPattern);
  int same = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    CAPTURE(i);
    CHECK(dev[i].error == "");
    CHECK(host[i].error == "");
    if (i % 6 == 3) CHECK(std::regex_match(dev[i].text, re));
    if (i % 6 == 4) CHECK(dev[i].tokens.size() >= 8);
    const bool eq = dev[i].tokens == host[i].tokens;
    if (i % 4 == 0) CHECK(eq);  // greedy: exact
    same += eq;
    if (!eq) continue;
    REQUIRE(dev[i].logprobs.size() == host[i].logprobs.size());
    for (size_t k = 0; k < host[i].logprobs.size(); ++k) {
      const auto& a = host[i].logprobs[k];
      const auto& b = dev[i].logprobs[k];
      CHECK(b.token == a.token);
      CHECK(b.logprob == doctest::Approx(a.logprob).epsilon(1e-5));
      REQUIRE(b.top.size() == a.top.size());
      for (size_t j = 0; j < a.top.size(); ++j) CHECK(b.top[j].first == a.top[j].first);
    }
  }
  // Identical logits in both runs; a sampled draw may only move within rounding.
  CHECK(same >= static_cast<int>(host.size()) - 1);
}
