// Tests of overlapped steps (step N+1 planned and launched before step N's tokens come back) on
// the fake model playing an overlapping device: the same tokens, text and finish reasons as
// synchronous steps for mixed loads with stop strings, EOS, stop ids, sampling, cancellations,
// preemption and score requests; the fast path is really taken; no page is left behind.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "engine/sampler.h"
#include "harness.h"

using namespace sgp;
using namespace sgp::test;
using engine::FinishReason;

namespace {

constexpr int kEosAfter = 30;  // the fake model prefers EOS once the history is this long

// n requests of every kind the engine handles differently: greedy, seeded temperature and
// min-p, stop strings (found in the request's own reference output, so they do fire), stop
// token ids, EOS ignored or not, min_tokens (host sampling until reached) and a penalty
// (host sampling throughout), with prompts sharing prefixes and max_tokens from 1 to 40.
std::vector<engine::GenerateRequest> mixed_requests(const FakeTokenizer& tok, int n,
                                                    bool host_kinds) {
  std::vector<engine::GenerateRequest> rs;
  const auto shared = make_prompt(9, 4242);
  for (int i = 0; i < n; ++i) {
    auto prompt = make_prompt(3 + (i * 7) % 24, 600 + static_cast<uint64_t>(i));
    if (i % 4 == 1) prompt.insert(prompt.begin(), shared.begin(), shared.end());
    const int max_tokens = 1 + (i * 11) % 40;
    auto r = greedy(prompt, max_tokens);
    const auto ref = reference_greedy(prompt, 40, kEosAfter);
    const std::string full = stream_text(tok, ref);
    switch (i % (host_kinds ? 9 : 7)) {
      case 1:
        r.sampling.temperature = 0.9f;
        r.sampling.seed = 70 + static_cast<uint64_t>(i);
        break;
      case 2:
        r.sampling.temperature = 1.0f;
        r.sampling.min_p = 0.2f;
        r.sampling.seed = 90 + static_cast<uint64_t>(i);
        break;
      case 3:  // a stop string inside the output (or one that never matches)
        r.sampling.stop = {full.size() > 8 ? full.substr(full.size() / 2, 2) : "@@"};
        break;
      case 4:
        if (ref.size() > 2) r.sampling.stop_token_ids = {ref[2]};
        break;
      case 5:
        r.sampling.ignore_eos = true;
        break;
      case 6:
        r.sampling.max_tokens = 40;
        break;
      case 7:
        r.sampling.min_tokens = 3;
        break;
      case 8:
        r.sampling.presence_penalty = 1.5f;
        break;
      default:
        break;
    }
    rs.push_back(std::move(r));
  }
  return rs;
}

struct Outcome {
  std::vector<engine::GenerateResult> results;
  std::vector<std::string> streamed;
  engine::EngineStats stats;
  int resolved = 0;
  int max_outstanding = 0;
  bool pages_back = false;
};

// Runs every request queued together (behind Harness::gate). `cancel_at`: where > 0 for a
// request, it is cancelled from its own text callback once that many pieces have streamed.
Outcome run(std::vector<engine::GenerateRequest> rs, engine::EngineOptions o, bool overlap,
            const std::vector<int>& cancel_at = {}) {
  o.overlap = overlap;
  Harness h(o, 4, kEosAfter);
  h.backend->device_sampling = true;
  h.backend->overlapping = overlap;
  Outcome out;
  out.streamed.resize(rs.size());
  std::vector<std::promise<engine::GenerateResult>> done(rs.size());
  std::vector<engine::RequestId> ids(rs.size());
  std::vector<int> pieces(rs.size(), 0);
  h.gate();
  for (size_t i = 0; i < rs.size(); ++i) {
    const int at = i < cancel_at.size() ? cancel_at[i] : 0;
    rs[i].on_text = [&, i, at](const std::string& d) {
      out.streamed[i] += d;
      if (++pieces[i] == at) h.engine->cancel(ids[i]);
    };
    rs[i].on_done = [p = &done[i]](engine::GenerateResult r) { p->set_value(std::move(r)); };
    ids[i] = h.engine->submit(std::move(rs[i]));
  }
  h.release();
  for (auto& d : done) out.results.push_back(d.get_future().get());
  out.stats = h.engine->stats();
  out.resolved = h.backend->resolved;
  out.max_outstanding = h.backend->max_outstanding;
  h.engine->clear_cache();
  out.pages_back = h.all_pages_back();
  return out;
}

void check_same(const Outcome& sync, const Outcome& over) {
  REQUIRE(sync.results.size() == over.results.size());
  for (size_t i = 0; i < sync.results.size(); ++i) {
    CAPTURE(i);
    CHECK(over.results[i].finish == sync.results[i].finish);
    CHECK(over.results[i].error == sync.results[i].error);
    CHECK(over.results[i].tokens == sync.results[i].tokens);
    CHECK(over.results[i].text == sync.results[i].text);
    CHECK(over.streamed[i] == over.results[i].text);
    CHECK(sync.streamed[i] == sync.results[i].text);
  }
  CHECK(sync.stats.overlapped_steps == 0);
  CHECK(sync.resolved == 0);
  CHECK(over.stats.overlapped_steps > 0);
  CHECK(over.resolved > 0);
  CHECK(over.max_outstanding == 2);
  CHECK(sync.pages_back);
  CHECK(over.pages_back);
}

}  // namespace

TEST_CASE(
    "engine overlap: greedy requests give the reference tokens, nearly every step overlapped") {
  FakeTokenizer tok;
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 20; ++i)
    rs.push_back(greedy(make_prompt(4 + i, 300 + static_cast<uint64_t>(i)), 5 + (i * 3) % 30));
  Outcome sync = run(rs, fake_options(), false);
  Outcome over = run(rs, fake_options(), true);
  check_same(sync, over);
  for (size_t i = 0; i < rs.size(); ++i)
    CHECK(over.results[i].tokens ==
          reference_greedy(rs[i].prompt, rs[i].sampling.max_tokens, kEosAfter));
  MESSAGE(over.stats.overlapped_steps << " of " << over.stats.steps << " steps overlapped");
  // Only the first step, and one after the batch briefly empties, start with nothing in flight.
  CHECK(over.stats.overlapped_steps * 10 >= over.stats.steps * 9);
  // A request found finished by EOS ran one extra row at most; decodes are not repeated.
  CHECK(over.stats.decode_tokens <= sync.stats.decode_tokens + rs.size());
}

TEST_CASE("engine overlap: a mixed load gives the synchronous steps' tokens, text and ends") {
  FakeTokenizer tok;
  for (bool radix : {true, false}) {
    for (bool host_kinds : {false, true}) {
      CAPTURE(radix);
      CAPTURE(host_kinds);
      auto rs = mixed_requests(tok, 45, host_kinds);
      auto o = fake_options();
      o.radix_cache = radix;
      Outcome sync = run(rs, o, false);
      Outcome over = run(rs, o, true);
      check_same(sync, over);
      std::set<FinishReason> ends;
      for (const auto& r : over.results) ends.insert(r.finish);
      CHECK(ends.count(FinishReason::Eos));
      CHECK(ends.count(FinishReason::Stop));
      CHECK(ends.count(FinishReason::Length));
      for (size_t i = 0; i < rs.size(); ++i)
        if (rs[i].sampling.temperature == 0.0f && rs[i].sampling.stop.empty() &&
            rs[i].sampling.stop_token_ids.empty() && !rs[i].sampling.ignore_eos &&
            rs[i].sampling.presence_penalty == 0.0f)
          CHECK(over.results[i].tokens ==
                reference_greedy(rs[i].prompt, rs[i].sampling.max_tokens, kEosAfter));
    }
  }
}

TEST_CASE("engine overlap: preemption in a tiny KV pool changes nothing") {
  FakeTokenizer tok;
  for (bool radix : {true, false}) {
    CAPTURE(radix);
    auto rs = mixed_requests(tok, 40, true);
    for (auto& r : rs) r.sampling.ignore_eos = true;  // long outputs: the pool runs dry
    auto o = fake_options(22);                        // 88 token slots
    o.radix_cache = radix;
    Outcome sync = run(rs, o, false);
    Outcome over = run(rs, o, true);
    check_same(sync, over);
    MESSAGE("radix " << radix << ": " << over.stats.preemptions << " preemptions, "
                     << over.stats.overlapped_steps << " of " << over.stats.steps
                     << " steps overlapped");
    CHECK(over.stats.preemptions > 0);
    for (const auto& r : over.results) CHECK(r.finish != FinishReason::Error);
  }
}

TEST_CASE("engine overlap: cancelling from a text callback ends where synchronous steps end") {
  FakeTokenizer tok;
  auto rs = mixed_requests(tok, 30, false);
  std::vector<int> cancel_at(rs.size(), 0);
  for (size_t i = 0; i < rs.size(); i += 3) {
    rs[i].sampling.ignore_eos = true;
    rs[i].sampling.max_tokens = 40;
    rs[i].sampling.stop.clear();
    rs[i].sampling.stop_token_ids.clear();
    cancel_at[i] = 1 + static_cast<int>(i % 7);
  }
  Outcome sync = run(rs, fake_options(), false, cancel_at);
  Outcome over = run(rs, fake_options(), true, cancel_at);
  check_same(sync, over);
  int cancelled = 0;
  for (const auto& r : over.results) cancelled += r.finish == FinishReason::Cancelled;
  CHECK(cancelled == 10);
}

TEST_CASE("engine overlap: cancelling at any moment leaves a prefix of the output, no page") {
  FakeTokenizer tok;
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 24; ++i) {
    auto r = greedy(make_prompt(5 + i, 800 + static_cast<uint64_t>(i)), 40);
    r.sampling.ignore_eos = true;
    rs.push_back(r);
  }
  auto o = fake_options();
  o.overlap = true;
  Harness h(o, 4, /*eos_after=*/0);
  h.backend->device_sampling = true;
  h.backend->overlapping = true;
  std::vector<std::promise<engine::GenerateResult>> done(rs.size());
  std::vector<engine::RequestId> ids;
  std::atomic<int> pieces{0};
  for (size_t i = 0; i < rs.size(); ++i) {
    auto r = rs[i];
    r.on_text = [&](const std::string&) { ++pieces; };
    r.on_done = [p = &done[i]](engine::GenerateResult res) { p->set_value(std::move(res)); };
    ids.push_back(h.engine->submit(std::move(r)));
  }
  for (size_t i = 0; i < ids.size(); i += 2) {
    while (pieces < static_cast<int>(10 * (i + 1))) std::this_thread::yield();
    h.engine->cancel(ids[i]);
  }
  for (size_t i = 0; i < rs.size(); ++i) {
    CAPTURE(i);
    auto r = done[i].get_future().get();
    const auto ref = reference_greedy(rs[i].prompt, 40, 0);
    REQUIRE(r.tokens.size() <= ref.size());
    CHECK(std::equal(r.tokens.begin(), r.tokens.end(), ref.begin()));
    CHECK(r.text == stream_text(tok, r.tokens));
    if (i % 2 == 1) CHECK(r.finish == FinishReason::Length);
  }
  CHECK(h.engine->stats().overlapped_steps > 0);
  h.engine->clear_cache();
  CHECK(h.all_pages_back());
}

TEST_CASE("engine overlap: score requests between generations run synchronously, same results") {
  FakeTokenizer tok;
  auto score_and_generate = [&](bool overlap) {
    auto o = fake_options();
    o.overlap = overlap;
    Harness h(o, 4, 0);
    h.backend->device_sampling = true;
    h.backend->overlapping = overlap;
    std::vector<std::promise<engine::GenerateResult>> gen(8);
    std::vector<std::promise<engine::ScoreResult>> sc(4);
    h.gate();
    for (int i = 0; i < 8; ++i) {
      auto r = greedy(make_prompt(6 + i, 50 + static_cast<uint64_t>(i)), 30);
      r.on_done = [p = &gen[static_cast<size_t>(i)]](engine::GenerateResult res) {
        p->set_value(std::move(res));
      };
      h.engine->submit(std::move(r));
      if (i % 2 == 0) {
        engine::ScoreRequest s;
        s.prefix = make_prompt(20 + i, 70 + static_cast<uint64_t>(i));
        s.continuations = {{5, 6, 7}, {9}, {10, 11}};
        s.on_done = [p = &sc[static_cast<size_t>(i / 2)]](engine::ScoreResult res) {
          p->set_value(std::move(res));
        };
        h.engine->submit(std::move(s));
      }
    }
    h.release();
    std::vector<std::vector<int32_t>> tokens;
    for (auto& g : gen) tokens.push_back(g.get_future().get().tokens);
    std::vector<std::vector<float>> lps;
    for (auto& s : sc) {
      auto res = s.get_future().get();
      CHECK(res.error == "");
      for (const auto& c : res.choices) lps.push_back(c.token_logprobs);
    }
    h.engine->clear_cache();
    CHECK(h.all_pages_back());
    return std::make_tuple(tokens, lps, h.engine->stats().overlapped_steps);
  };
  auto [sync_tokens, sync_lps, sync_over] = score_and_generate(false);
  auto [over_tokens, over_lps, over_over] = score_and_generate(true);
  CHECK(sync_over == 0);
  CHECK(over_over > 0);
  CHECK(over_tokens == sync_tokens);
  REQUIRE(over_lps.size() == sync_lps.size());
  for (size_t i = 0; i < sync_lps.size(); ++i) CHECK(over_lps[i] == sync_lps[i]);
}

TEST_CASE("engine overlap: off by option; a follow-up re-uses the KV an overlapped run cached") {
  auto o = fake_options();
  o.overlap = false;
  Harness off(o);
  off.backend->device_sampling = true;
  off.backend->overlapping = true;
  auto prompt = make_prompt(30, 77);
  auto a = off.generate(greedy(prompt, 10));
  CHECK(a.tokens == reference_greedy(prompt, 10));
  CHECK(off.engine->stats().overlapped_steps == 0);
  CHECK(off.backend->resolved == 0);

  Harness on;
  on.backend->device_sampling = true;
  on.backend->overlapping = true;
  auto r = on.generate(greedy(prompt, 10));
  CHECK(r.tokens == a.tokens);
  CHECK(on.engine->stats().overlapped_steps > 0);
  std::vector<int32_t> next = prompt;
  next.insert(next.end(), r.tokens.begin(), r.tokens.end());
  for (int32_t t : {3, 4, 5}) next.push_back(t);
  auto r2 = on.generate(greedy(next, 8));
  CHECK(r2.tokens == reference_greedy(next, 8));
  CHECK(r2.cached_tokens == 39);  // the prompt and 9 of the 10 tokens, never a placeholder
  on.engine->clear_cache();
  CHECK(on.all_pages_back());
}
