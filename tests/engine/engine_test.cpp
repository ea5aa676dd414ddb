// Tests of the engine's generation behaviour on the fake model: greedy reference, seeds, stop
// strings and token ids, EOS, min/max tokens, penalties, logprobs, constraints, radix re-use.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "constraint/token_constraint.h"
#include "engine/sampler.h"
#include "harness.h"

using namespace sgp;
using namespace sgp::test;
using engine::FinishReason;

TEST_CASE("engine: greedy generation equals the reference model") {
  Harness h;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    auto prompt = make_prompt(5 + 7 * static_cast<int>(seed), seed);
    auto r = h.generate(greedy(prompt, 20));
    CHECK(r.finish == FinishReason::Length);
    CHECK(r.tokens == reference_greedy(prompt, 20));
    CHECK(r.text == stream_text(*h.tokenizer, r.tokens));
    CHECK(r.prompt_tokens == static_cast<int>(prompt.size()));
  }
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: streamed text adds up to the result text") {
  Harness h;
  auto req = greedy(make_prompt(9, 5), 30);
  std::string streamed;
  req.on_text = [&](const std::string& d) { streamed += d; };
  auto r = h.generate(std::move(req));
  CHECK(streamed == r.text);
  CHECK(r.text == stream_text(*h.tokenizer, r.tokens));
}

TEST_CASE("engine: EOS ends generation unless ignored; min_tokens holds it off") {
  Harness h(fake_options(), 4, /*eos_after=*/14);
  auto prompt = make_prompt(10, 3);
  auto r = h.generate(greedy(prompt, 30));
  CHECK(r.finish == FinishReason::Eos);
  CHECK(r.tokens == reference_greedy(prompt, 30, 14));
  CHECK(r.tokens.size() == 4);
  auto req = greedy(prompt, 12);
  req.sampling.ignore_eos = true;
  auto r2 = h.generate(req);
  CHECK(r2.finish == FinishReason::Length);
  CHECK(r2.tokens.size() == 12);
  auto req3 = greedy(prompt, 30);
  req3.sampling.min_tokens = 7;
  auto r3 = h.generate(req3);
  CHECK(r3.finish == FinishReason::Eos);
  CHECK(r3.tokens.size() == 7);
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: max_tokens and stop token ids") {
  Harness h;
  auto prompt = make_prompt(8, 11);
  auto ref = reference_greedy(prompt, 40);
  auto r = h.generate(greedy(prompt, 5));
  CHECK(r.tokens == std::vector<int32_t>(ref.begin(), ref.begin() + 5));
  CHECK(r.finish == FinishReason::Length);
  // Stop at the first occurrence of ref[k] for some k > 0.
  size_t k = 3;
  size_t first = std::find(ref.begin(), ref.end(), ref[k]) - ref.begin();
  auto req = greedy(prompt, 40);
  req.sampling.stop_token_ids = {ref[k]};
  auto r2 = h.generate(req);
  CHECK(r2.finish == FinishReason::Stop);
  CHECK(r2.tokens == std::vector<int32_t>(ref.begin(), ref.begin() + first));
  auto r0 = h.generate(greedy(prompt, 0));
  CHECK(r0.tokens.empty());
  CHECK(r0.finish == FinishReason::Length);
}

TEST_CASE("engine: stop strings spanning token boundaries; the stream never shows them") {
  Harness h;
  int tried = 0;
  for (uint64_t seed = 20; seed < 32; ++seed) {
    auto prompt = make_prompt(6, seed);
    auto ref = reference_greedy(prompt, 40);
    std::string full = stream_text(*h.tokenizer, ref);
    // Find a boundary between two tokens with text on both sides and take 2 bytes across it.
    size_t off = 0, cut = std::string::npos;
    for (size_t i = 0; i + 1 < ref.size() && i < 20; ++i) {
      if (ref[i] >= 84 && ref[i] <= 86) break;  // raw bytes and text differ from here on
      off += h.tokenizer->token_bytes(ref[i]).size();
      auto ascii = [&](size_t j) { return static_cast<unsigned char>(full[j]) < 0x80; };
      if (off >= 4 && off + 1 < full.size() && i >= 2 && ascii(off - 1) && ascii(off)) {
        cut = off - 1;
        break;
      }
    }
    if (cut == std::string::npos) continue;
    ++tried;
    std::string stop = full.substr(cut, 2);
    auto req = greedy(prompt, 40);
    req.sampling.stop = {stop};
    std::string streamed;
    req.on_text = [&](const std::string& d) { streamed += d; };
    auto r = h.generate(std::move(req));
    size_t at = full.find(stop);
    CHECK(r.finish == FinishReason::Stop);
    CHECK(r.text == full.substr(0, at));
    CHECK(streamed == r.text);
    std::string kept = stream_text(*h.tokenizer, r.tokens);
    CHECK(kept.substr(0, r.text.size()) == r.text);
    CHECK(kept.size() < at + stop.size());
  }
  CHECK(tried >= 5);
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: seeded sampling is reproducible; other seeds differ") {
  Harness h;
  auto prompt = make_prompt(12, 9);
  auto req = greedy(prompt, 24);
  req.sampling.temperature = 1.0f;
  req.sampling.seed = 1234;
  auto a = h.generate(req);
  auto b = h.generate(req);
  CHECK(a.tokens == b.tokens);
  req.sampling.seed = 99;
  auto c = h.generate(req);
  CHECK(a.tokens != c.tokens);
  CHECK(a.tokens != reference_greedy(prompt, 24));
}

TEST_CASE("engine: penalties stop repetition") {
  Harness h;
  auto prompt = make_prompt(6, 31);
  auto plain = h.generate(greedy(prompt, 60));
  std::set<int32_t> distinct(plain.tokens.begin(), plain.tokens.end());
  REQUIRE(distinct.size() < plain.tokens.size());  // the fake model does repeat itself
  auto req = greedy(prompt, 60);
  req.sampling.presence_penalty = 100.0f;
  auto p = h.generate(req);
  CHECK(std::set<int32_t>(p.tokens.begin(), p.tokens.end()).size() == p.tokens.size());
  req = greedy(prompt, 60);
  req.sampling.frequency_penalty = 100.0f;
  auto f = h.generate(req);
  CHECK(std::set<int32_t>(f.tokens.begin(), f.tokens.end()).size() == f.tokens.size());
  req = greedy(prompt, 30);
  req.sampling.repetition_penalty = 1e6f;
  auto r = h.generate(req);
  std::set<int32_t> seen(prompt.begin(), prompt.end());
  for (int32_t t : r.tokens) {
    CHECK(seen.count(t) == 0);
    seen.insert(t);
  }
}

TEST_CASE("engine: logprobs match the model's log-softmax") {
  Harness h;
  auto prompt = make_prompt(7, 41);
  auto req = greedy(prompt, 6);
  req.sampling.logprobs = 4;
  auto r = h.generate(req);
  REQUIRE(r.logprobs.size() == r.tokens.size());
  std::vector<int32_t> hist = prompt;
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    std::vector<float> lsm;
    engine::log_softmax(fake_logits(hist, 0), lsm);
    CHECK(r.logprobs[i].token == r.tokens[i]);
    CHECK(r.logprobs[i].logprob == doctest::Approx(lsm[static_cast<size_t>(r.tokens[i])]));
    REQUIRE(r.logprobs[i].top.size() == 4);
    CHECK(r.logprobs[i].top[0].first == r.tokens[i]);
    for (size_t j = 1; j < 4; ++j)
      CHECK(r.logprobs[i].top[j - 1].second >= r.logprobs[i].top[j].second);
    hist.push_back(r.tokens[i]);
  }
}

namespace {
// Only vowels a e i o u (ids 1 5 9 15 21); may end after 3 tokens; must end after 5. From
// state 10 on, jump-forward forces the text "xy".
class VowelConstraint : public engine::TokenConstraint {
 public:
  explicit VowelConstraint(bool force) : force_(force) {}
  int32_t start_state() const override { return 0; }
  void allowed_tokens(int32_t, std::vector<uint64_t>& mask) const override {
    for (int t : {1, 5, 9, 15, 21}) mask[0] |= uint64_t{1} << t;
  }
  int32_t next_state(int32_t s, int32_t t) const override {
    if (force_ && s >= 10) return s + 1;
    return (t == 1 || t == 5 || t == 9 || t == 15 || t == 21) ? (force_ ? 10 : s + 1) : -1;
  }
  bool accepting(int32_t s) const override { return force_ ? s >= 11 : s >= 3; }
  bool finished(int32_t s) const override { return force_ ? s >= 11 : s >= 5; }
  std::string forced_text(int32_t s) const override { return force_ && s == 10 ? "xy" : ""; }

 private:
  bool force_;
};
}  // namespace

TEST_CASE("engine: a token constraint restricts, ends, and jump-forwards the output") {
  Harness h(fake_options(), 4, /*eos_after=*/1);  // EOS wins whenever allowed
  auto req = greedy(make_prompt(5, 2), 20);
  req.sampling.constraint = std::make_shared<VowelConstraint>(false);
  auto r = h.generate(req);
  CHECK(r.finish == FinishReason::Eos);  // EOS became legal once accepting
  CHECK(r.tokens.size() == 3);
  for (char c : r.text) CHECK(std::string("aeiou").find(c) != std::string::npos);
  auto req2 = greedy(make_prompt(5, 2), 20);
  req2.sampling.constraint = std::make_shared<VowelConstraint>(true);
  auto r2 = h.generate(req2);
  CHECK(r2.finish == FinishReason::Stop);
  REQUIRE(r2.text.size() == 3);
  CHECK(r2.text.substr(1) == "xy");
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: a follow-up that extends a finished request re-uses its KV") {
  Harness h;
  auto prompt = make_prompt(30, 77);
  auto r = h.generate(greedy(prompt, 10));
  std::vector<int32_t> next = prompt;
  next.insert(next.end(), r.tokens.begin(), r.tokens.end());
  for (int32_t t : {3, 4, 5}) next.push_back(t);
  int before = h.backend->tokens;
  auto r2 = h.generate(greedy(next, 8));
  CHECK(r2.tokens == reference_greedy(next, 8));
  // The first request computed the prompt and 9 of its 10 tokens.
  CHECK(r2.cached_tokens == 39);
  CHECK(h.backend->tokens - before == static_cast<int>(next.size()) - 39 + 7);
  engine::EngineStats s = h.engine->stats();
  CHECK(s.cached_tokens >= 39);
  CHECK(s.requests_done == 2);
  h.engine->clear_cache();
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: bad requests fail with a clear error, the engine goes on") {
  Harness h(fake_options(16));  // 16 pages of 4 tokens
  auto r = h.generate(greedy(make_prompt(50, 1), 20));
  CHECK(r.finish == FinishReason::Error);
  CHECK(r.error.find("KV") != std::string::npos);
  auto bad = h.generate(greedy({1, 2, 500}, 3));
  CHECK(bad.finish == FinishReason::Error);
  CHECK(bad.error.find("vocabulary") != std::string::npos);
  auto empty = h.generate(greedy({}, 3));
  CHECK(empty.finish == FinishReason::Error);
  auto ok = h.generate(greedy(make_prompt(10, 1), 5));
  CHECK(ok.finish == FinishReason::Length);
  CHECK(h.all_pages_back());
}

TEST_CASE("engine: a backend that samples on the device gives the host sampler's tokens") {
  // Every request is drawn on the device (greedy, temperature, min-p, top-k/top-p, penalties,
  // logprobs, the EOS ban before min_tokens) and gives exactly the tokens of the host path.
  auto run = [](bool device, engine::SamplingParams sp) {
    Harness h;
    h.backend->device_sampling = device;
    std::vector<engine::GenerateRequest> rs;
    for (int i = 0; i < 6; ++i) {
      auto r = greedy(make_prompt(5 + i, 100 + static_cast<uint64_t>(i)), 20);
      r.sampling = sp;
      r.sampling.max_tokens = 20;
      r.sampling.seed = 7 + static_cast<uint64_t>(i);
      rs.push_back(std::move(r));
    }
    std::vector<std::vector<int32_t>> out;
    std::vector<std::vector<engine::TokenLogprob>> lps;
    for (auto& r : h.generate_all(std::move(rs))) {
      out.push_back(r.tokens);
      lps.push_back(r.logprobs);
    }
    return std::make_tuple(out, lps, h.backend->rows_sampled.load());
  };
  engine::SamplingParams greedy_sp;
  greedy_sp.temperature = 0.0f;
  engine::SamplingParams hot;
  hot.temperature = 0.9f;
  engine::SamplingParams minp = hot;
  minp.min_p = 0.2f;
  engine::SamplingParams top_p = hot;
  top_p.top_p = 0.8f;
  engine::SamplingParams held = hot;
  held.min_tokens = 30;  // EOS banned throughout
  engine::SamplingParams pen = hot;
  pen.top_k = 5;
  pen.frequency_penalty = 0.5f;
  pen.repetition_penalty = 1.2f;
  pen.logprobs = 3;
  for (const auto& sp : {greedy_sp, hot, minp, top_p, held, pen}) {
    auto [host, host_lps, host_rows] = run(false, sp);
    auto [dev, dev_lps, dev_rows] = run(true, sp);
    CHECK(host_rows == 0);
    CHECK(dev_rows >= 6 * 20);
    CHECK(dev == host);
    for (size_t i = 0; i < host_lps.size(); ++i) {
      REQUIRE(dev_lps[i].size() == host_lps[i].size());
      for (size_t k = 0; k < host_lps[i].size(); ++k) {
        CHECK(dev_lps[i][k].logprob == host_lps[i][k].logprob);
        CHECK(dev_lps[i][k].top == host_lps[i][k].top);
      }
    }
  }
  // With an EOS-prone model: EOS drawn on the device still ends the request.
  Harness h(fake_options(), 4, /*eos_after=*/9);
  h.backend->device_sampling = true;
  auto r = h.generate(greedy(make_prompt(4, 3), 40));
  CHECK(r.finish == engine::FinishReason::Eos);
  CHECK(r.tokens == reference_greedy(make_prompt(4, 3), 40, 9));
  CHECK(h.backend->rows_sampled > 0);
}
