// Harness: an Engine over the fake model, with blocking helpers and reference generation.
#include "harness.h"

#include <algorithm>
#include <random>

namespace sgp::test {

engine::EngineOptions fake_options(int pages) {
  engine::EngineOptions o;
  o.kv_memory_bytes = static_cast<size_t>(pages) * 1000;
  o.max_step_tokens = 64;
  o.max_running = 32;
  return o;
}

Harness::Harness(engine::EngineOptions options, int page_size, int eos_after) {
  auto b = std::make_unique<FakeBackend>(page_size, eos_after);
  backend = b.get();
  tokenizer = std::make_shared<FakeTokenizer>();
  engine = std::make_unique<engine::Engine>(std::move(b), tokenizer, options);
}

engine::GenerateResult Harness::generate(engine::GenerateRequest r) {
  std::promise<engine::GenerateResult> done;
  auto f = done.get_future();
  r.on_done = [&done](engine::GenerateResult res) { done.set_value(std::move(res)); };
  engine->submit(std::move(r));
  return f.get();
}

void Harness::gate() {
  backend->hold_at(backend->forwards + 1);
  engine->submit(greedy({1}, 1));
  backend->wait_until_waiting();
}

std::vector<engine::GenerateResult> Harness::generate_all(std::vector<engine::GenerateRequest> rs) {
  std::vector<std::promise<engine::GenerateResult>> done(rs.size());
  std::vector<std::future<engine::GenerateResult>> futures;
  for (auto& p : done) futures.push_back(p.get_future());
  gate();
  for (size_t i = 0; i < rs.size(); ++i) {
    auto* p = &done[i];
    rs[i].on_done = [p](engine::GenerateResult r) { p->set_value(std::move(r)); };
    engine->submit(std::move(rs[i]));
  }
  backend->release();
  std::vector<engine::GenerateResult> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

engine::ScoreResult Harness::score(engine::ScoreRequest r) {
  std::promise<engine::ScoreResult> done;
  auto f = done.get_future();
  r.on_done = [&done](engine::ScoreResult res) { done.set_value(std::move(res)); };
  engine->submit(std::move(r));
  return f.get();
}

bool Harness::all_pages_back() const {
  engine::EngineStats s = engine->stats();
  return s.pages_in_use == 0 && s.pages_free == s.pages_total;
}

engine::GenerateRequest greedy(std::vector<int32_t> prompt, int max_tokens) {
  engine::GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.sampling.max_tokens = max_tokens;
  return r;
}

std::string stream_text(const model::Tokenizer& tok, const std::vector<int32_t>& ids) {
  model::IncrementalDecoder d(tok);
  std::string out;
  for (int32_t id : ids) out += d.push(id);
  return out + d.flush();
}

std::vector<int32_t> make_prompt(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(1 + static_cast<int32_t>(rng() % (kFakeVocab - 1)));
  return p;
}

std::vector<int32_t> reference_greedy(const std::vector<int32_t>& prompt, int max_tokens,
                                      int eos_after) {
  std::vector<int32_t> h = prompt, out;
  while (static_cast<int>(out.size()) < max_tokens) {
    std::vector<float> l = fake_logits(h, eos_after);
    int32_t t = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
    if (t == kFakeEos) break;
    out.push_back(t);
    h.push_back(t);
  }
  return out;
}

}  // namespace sgp::test
