// Tests of scheduling through the engine on the fake model: continuous batching, chunked
// prefill, preemption under a tiny pool, batch invariance, cancellation.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

#include "harness.h"

using namespace sgp;
using namespace sgp::test;
using engine::FinishReason;

namespace {
// 16 mixed requests around one greedy probe: other lengths, temperatures, stops, penalties.
std::vector<engine::GenerateRequest> mixed_batch(const engine::GenerateRequest& probe) {
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 15; ++i) {
    auto r =
        greedy(make_prompt(3 + (i * 7) % 40, 100 + static_cast<uint64_t>(i)), 5 + (i * 5) % 30);
    if (i % 3 == 1) {
      r.sampling.temperature = 0.8f;
      r.sampling.seed = static_cast<uint64_t>(i);
      r.sampling.top_p = 0.9f;
    }
    if (i % 4 == 2) r.sampling.stop = {"e"};
    if (i % 5 == 3) r.sampling.frequency_penalty = 0.5f;
    rs.push_back(r);
    if (i == 6) rs.push_back(probe);
  }
  return rs;
}
}  // namespace

TEST_CASE("scheduler: requests are batched together, join and leave, each output correct") {
  Harness h;
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 10; ++i)
    rs.push_back(greedy(make_prompt(4 + 3 * i, 200 + static_cast<uint64_t>(i)), 3 + 4 * i));
  auto out = h.generate_all(rs);
  for (int i = 0; i < 10; ++i) {
    CHECK(out[static_cast<size_t>(i)].tokens ==
          reference_greedy(rs[static_cast<size_t>(i)].prompt, 3 + 4 * i));
  }
  engine::EngineStats s = h.engine->stats();
  CHECK(s.max_batch_seqs == 10);
  // Short requests leave early: far fewer steps than running them one after another.
  CHECK(s.steps < 60);
  CHECK(s.decode_tokens > 0);
  CHECK(s.requests_done == 11);  // and the gate's blocker
  CHECK(h.all_pages_back());
}

TEST_CASE("scheduler: a new request joins a running batch") {
  Harness h;
  h.backend->hold_at(5);
  std::promise<engine::GenerateResult> long_done;
  auto long_req = greedy(make_prompt(10, 1), 60);
  long_req.on_done = [&](engine::GenerateResult r) { long_done.set_value(std::move(r)); };
  h.engine->submit(long_req);
  h.backend->wait_until_waiting();
  std::promise<engine::GenerateResult> short_done;
  auto short_req = greedy(make_prompt(8, 2), 4);
  short_req.on_done = [&](engine::GenerateResult r) { short_done.set_value(std::move(r)); };
  h.engine->submit(short_req);
  h.release();
  auto short_r = short_done.get_future().get();
  auto long_r = long_done.get_future().get();
  CHECK(short_r.tokens == reference_greedy(make_prompt(8, 2), 4));
  CHECK(long_r.tokens == reference_greedy(make_prompt(10, 1), 60));
  CHECK(h.engine->stats().max_batch_seqs == 2);
}

TEST_CASE("scheduler: chunked prefill keeps every step under the token budget") {
  auto o = fake_options();
  o.max_step_tokens = 8;
  Harness h(o);
  auto prompt = make_prompt(53, 5);
  auto r = h.generate(greedy(prompt, 6));
  CHECK(r.tokens == reference_greedy(prompt, 6));
  CHECK(h.backend->max_chunk_tokens <= 8);
  CHECK(h.engine->stats().steps >= 7 + 5);
  // Decodes and prefill chunks share steps without exceeding the budget.
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 4; ++i)
    rs.push_back(greedy(make_prompt(20 + i, 300 + static_cast<uint64_t>(i)), 10));
  auto out = h.generate_all(rs);
  for (int i = 0; i < 4; ++i)
    CHECK(out[static_cast<size_t>(i)].tokens ==
          reference_greedy(rs[static_cast<size_t>(i)].prompt, 10));
  CHECK(h.backend->max_chunk_tokens <= 8);
}

TEST_CASE("scheduler: a tiny pool preempts and recomputes; outputs equal the roomy run") {
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 12; ++i) {
    auto r = greedy(make_prompt(10 + i, 400 + static_cast<uint64_t>(i)), 20);
    if (i % 2) {
      r.sampling.temperature = 1.0f;
      r.sampling.seed = 5 + static_cast<uint64_t>(i);
    }
    rs.push_back(r);
  }
  for (bool radix : {true, false}) {
    auto roomy_o = fake_options(1024);
    roomy_o.radix_cache = radix;
    Harness roomy(roomy_o);
    auto want = roomy.generate_all(rs);
    CHECK(roomy.engine->stats().preemptions == 0);
    auto tiny_o = fake_options(14);  // 56 token slots; each request needs ~9 pages
    tiny_o.radix_cache = radix;
    Harness tiny(tiny_o);
    auto got = tiny.generate_all(rs);
    for (size_t i = 0; i < rs.size(); ++i) {
      CHECK(got[i].finish == FinishReason::Length);
      CHECK(got[i].tokens == want[i].tokens);
    }
    CHECK(tiny.engine->stats().preemptions > 0);
    CHECK(tiny.all_pages_back());
  }
}

TEST_CASE("scheduler: batch invariance — a greedy request alone and inside 16 mixed ones") {
  auto o = fake_options();
  o.max_step_tokens = 1024;  // all 16 in the first step
  Harness h(o);
  auto probe = greedy(make_prompt(23, 999), 40);
  auto alone = h.generate(probe);
  h.engine->clear_cache();
  auto out = h.generate_all(mixed_batch(probe));
  CHECK(out[7].tokens == alone.tokens);
  CHECK(h.engine->stats().max_batch_seqs == 16);
  // A seeded sampled request is likewise independent of its batch.
  auto seeded = probe;
  seeded.sampling.temperature = 1.0f;
  seeded.sampling.seed = 77;
  auto s_alone = h.generate(seeded);
  auto s_batch = h.generate_all(mixed_batch(seeded));
  CHECK(s_batch[7].tokens == s_alone.tokens);
}

TEST_CASE("scheduler: cancelling a running or waiting request ends it as cancelled") {
  auto o = fake_options();
  o.max_running = 1;
  Harness h(o);
  h.gate();
  std::promise<engine::GenerateResult> a_done, b_done;
  auto a = greedy(make_prompt(10, 1), 100);
  a.on_done = [&](engine::GenerateResult r) { a_done.set_value(std::move(r)); };
  auto b = greedy(make_prompt(10, 2), 50);
  b.on_done = [&](engine::GenerateResult r) { b_done.set_value(std::move(r)); };
  auto ida = h.engine->submit(a);
  auto idb = h.engine->submit(b);
  h.engine->cancel(idb);  // still waiting (max_running 1)
  h.engine->cancel(ida);
  h.release();
  auto ra = a_done.get_future().get();
  auto rb = b_done.get_future().get();
  CHECK(ra.finish == FinishReason::Cancelled);
  CHECK(rb.finish == FinishReason::Cancelled);
  CHECK(ra.tokens.size() < 100);
  CHECK(h.all_pages_back());
}

TEST_CASE("scheduler: destroying the engine cancels what is pending") {
  std::promise<engine::GenerateResult> done;
  {
    Harness h;
    h.gate();
    // Long enough that it cannot finish before the engine is destroyed, even on a loaded machine.
    auto r = greedy(make_prompt(10, 1), 1500);
    r.on_done = [&](engine::GenerateResult res) { done.set_value(std::move(res)); };
    h.engine->submit(r);
    h.release();
  }
  CHECK(done.get_future().get().finish == FinishReason::Cancelled);
}

TEST_CASE("scheduler: requests submitted together that share a prefix prefill it once") {
  auto shared = make_prompt(48, 61);
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 8; ++i) {
    auto p = shared;
    auto tail = make_prompt(3, 70 + static_cast<uint64_t>(i));
    p.insert(p.end(), tail.begin(), tail.end());
    rs.push_back(greedy(p, 5));
  }
  int used[2];
  for (bool radix : {true, false}) {
    auto o = fake_options();
    o.radix_cache = radix;
    Harness h(o);
    h.gate();
    int base = h.backend->tokens;
    h.release();
    auto out = h.generate_all(rs);
    for (size_t i = 0; i < rs.size(); ++i)
      CHECK(out[i].tokens == reference_greedy(rs[i].prompt, 5));
    used[radix ? 0 : 1] = h.backend->tokens - base - 1;  // minus generate_all's blocker
    if (radix) CHECK(h.engine->stats().cached_tokens == 7 * 48);
  }
  CHECK(used[1] == 8 * (51 + 4));
  CHECK(used[0] == 48 + 8 * (3 + 4));
}
