// Engine tests on the real default model (SmolLM2-135M Q4_1, CPU backend): greedy continuation
// and batch invariance. Skipped when the model file has not been fetched.
#include <doctest/doctest.h>

#include <filesystem>
#include <future>
#include <memory>

#include "engine/engine.h"
#include "model/backend.h"
#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

using namespace sgp;

namespace {

const std::string kModel = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

struct Real {
  std::shared_ptr<model::Tokenizer> tok;
  std::unique_ptr<engine::Engine> engine;
  Real() {
    auto file = model::GgufFile::open(kModel);
    tok = model::Tokenizer::from_gguf(*file);
    engine::EngineOptions o;
    o.kv_memory_bytes = 64u << 20;
    engine = std::make_unique<engine::Engine>(model::load_cpu_backend(kModel), tok, o);
  }
  std::vector<int32_t> encode(const std::string& text) const {
    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    auto rest = tok->encode(text);
    ids.insert(ids.end(), rest.begin(), rest.end());
    return ids;
  }
  std::vector<engine::GenerateResult> run(std::vector<engine::GenerateRequest> rs) {
    std::vector<std::promise<engine::GenerateResult>> done(rs.size());
    for (size_t i = 0; i < rs.size(); ++i) {
      rs[i].on_done = [p = &done[i]](engine::GenerateResult r) { p->set_value(std::move(r)); };
      engine->submit(std::move(rs[i]));
    }
    std::vector<engine::GenerateResult> out;
    for (auto& d : done) out.push_back(d.get_future().get());
    return out;
  }
};

engine::GenerateRequest greedy(std::vector<int32_t> prompt, int n) {
  engine::GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.sampling.max_tokens = n;
  return r;
}

}  // namespace

TEST_CASE("smollm2: greedy continuation of 'The capital of France is' names Paris") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  Real m;
  auto r = m.run({greedy(m.encode("The capital of France is"), 12)})[0];
  MESSAGE("continuation: " << r.text);
  CHECK(r.finish != engine::FinishReason::Error);
  CHECK(r.text.find("Paris") != std::string::npos);
}

TEST_CASE("smollm2: batch invariance — a greedy request alone and inside 16 mixed ones") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  Real m;
  auto probe = greedy(m.encode("Write a short poem about the sea:"), 24);
  auto alone = m.run({probe})[0];
  m.engine->clear_cache();
  const char* prompts[] = {"Hello, my name is",
                           "List three colors:",
                           "def fibonacci(n):",
                           "The quick brown fox",
                           "Translate to French: good morning",
                           "1, 2, 3, 4,",
                           "Once upon a time",
                           "Q: What is 2+2?\nA:"};
  std::vector<engine::GenerateRequest> rs;
  for (int i = 0; i < 15; ++i) {
    auto r = greedy(m.encode(prompts[i % 8]), 4 + (i * 5) % 24);
    if (i % 3 == 1) {
      r.sampling.temperature = 0.7f;
      r.sampling.seed = static_cast<uint64_t>(i);
    }
    if (i % 4 == 2) r.sampling.stop = {"\n"};
    rs.push_back(r);
    if (i == 6) rs.push_back(probe);
  }
  auto out = m.run(rs);
  CHECK(out[7].tokens == alone.tokens);
  CHECK(out[7].text == alone.text);
  CHECK(m.engine->stats().max_batch_seqs >= 8);
  // And with the prompt served from the radix cache.
  auto again = m.run({probe})[0];
  CHECK(again.cached_tokens > 0);
  CHECK(again.tokens == alone.tokens);
}
