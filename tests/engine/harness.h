// Harness: an Engine over the fake model, with blocking helpers and reference generation.
#pragma once

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "fake_model.h"

namespace sgp::test {

// `pages` pages of the fake backend's 1000 bytes; small step budget and batch.
engine::EngineOptions fake_options(int pages = 512);

struct Harness {
  explicit Harness(engine::EngineOptions options = fake_options(), int page_size = 4,
                   int eos_after = 0);

  engine::GenerateResult generate(engine::GenerateRequest r);
  // Parks the engine inside the forward of a one-token blocker request, so whatever is
  // submitted before release() is queued together for the next step.
  void gate();
  void release() { backend->release(); }
  // Submits everything behind gate(), so all requests are queued before their first step.
  std::vector<engine::GenerateResult> generate_all(std::vector<engine::GenerateRequest> rs);
  engine::ScoreResult score(engine::ScoreRequest r);
  // Every page is free or held only by unlocked cache entries.
  bool all_pages_back() const;

  FakeBackend* backend;  // owned by the engine
  std::shared_ptr<FakeTokenizer> tokenizer;
  std::unique_ptr<engine::Engine> engine;
};

engine::GenerateRequest greedy(std::vector<int32_t> prompt, int max_tokens);
// The text the engine should produce for ids: complete UTF-8 only, bad bytes as U+FFFD.
std::string stream_text(const model::Tokenizer& tok, const std::vector<int32_t>& ids);
std::vector<int32_t> make_prompt(int n, uint64_t seed);
// Greedy tokens straight from fake_logits, no engine, no paging.
std::vector<int32_t> reference_greedy(const std::vector<int32_t>& prompt, int max_tokens,
                                      int eos_after = 0);

}  // namespace sgp::test
