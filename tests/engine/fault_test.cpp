// Engine faults on the fake model: the KV pool exhausted by many concurrent requests, with bad
// requests mixed in. Every good request completes with the output it has with room to spare,
// each bad one fails alone with a clear error, and no page is left behind.
#include <doctest/doctest.h>

#include <string>

#include "harness.h"

using namespace sgp;
using namespace sgp::test;
using engine::FinishReason;

namespace {

// 48 requests: greedy and seeded-sampled, prompts 6-33 tokens, 12-35 new tokens; 9 of them are
// bad (a token outside the vocabulary, an empty prompt, more KV than the whole tiny pool).
struct Load {
  std::vector<engine::GenerateRequest> requests;
  std::vector<std::string> bad;  // expected error words; empty for good requests
};

Load mixed_load() {
  Load l;
  for (int i = 0; i < 48; ++i) {
    auto r = greedy(make_prompt(6 + (i * 5) % 28, 900 + static_cast<uint64_t>(i)), 12 + i % 24);
    if (i % 3 == 1) {
      r.sampling.temperature = 0.9f;
      r.sampling.seed = 40 + static_cast<uint64_t>(i);
    }
    std::string bad;
    if (i % 12 == 5) {
      r.prompt.push_back(5000);
      bad = "vocabulary";
    } else if (i % 12 == 9) {
      r.prompt.clear();
      bad = "empty";
    } else if (i == 47) {
      r.prompt = make_prompt(120, 7);  // 30+ pages of 4 tokens: the tiny pool has 20
      bad = "KV";
    }
    l.requests.push_back(r);
    l.bad.push_back(bad);
  }
  return l;
}

}  // namespace

TEST_CASE("engine faults: KV pool exhausted under 48 concurrent requests, bad ones mixed in") {
  Load load = mixed_load();
  for (bool radix : {true, false}) {
    CAPTURE(radix);
    auto roomy_o = fake_options(4096);
    roomy_o.radix_cache = radix;
    Harness roomy(roomy_o);
    auto want = roomy.generate_all(load.requests);
    CHECK(roomy.engine->stats().preemptions == 0);

    auto tiny_o = fake_options(20);  // 80 token slots; one request needs up to 18 pages
    tiny_o.radix_cache = radix;
    Harness tiny(tiny_o);
    auto got = tiny.generate_all(load.requests);
    REQUIRE(got.size() == load.requests.size());
    size_t good = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      if (load.bad[i].empty()) {
        ++good;
        CHECK(got[i].finish == FinishReason::Length);
        CHECK(got[i].tokens == want[i].tokens);
        CHECK(got[i].text == want[i].text);
        if (load.requests[i].sampling.temperature == 0.0f)
          CHECK(got[i].tokens ==
                reference_greedy(load.requests[i].prompt, load.requests[i].sampling.max_tokens));
      } else {
        CHECK(got[i].finish == FinishReason::Error);
        CHECK(got[i].error.find(load.bad[i]) != std::string::npos);
        CHECK(got[i].tokens.empty());
      }
    }
    CHECK(good == 39);
    engine::EngineStats s = tiny.engine->stats();
    MESSAGE("radix " << radix << ": " << s.preemptions << " preemptions, " << s.steps
                     << " steps, peak batch " << s.max_batch_seqs);
    CHECK(s.preemptions > 0);
    CHECK(s.requests_done == load.requests.size() + 1);  // and generate_all's blocker
    tiny.engine->clear_cache();
    s = tiny.engine->stats();
    CHECK(s.pages_in_use == 0);
    CHECK(s.pages_free == s.pages_total);
    // The engine is still fine afterwards.
    auto after = tiny.generate(greedy(make_prompt(20, 3), 10));
    CHECK(after.tokens == reference_greedy(make_prompt(20, 3), 10));
  }
}
