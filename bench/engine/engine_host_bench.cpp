// The engine's host-side cost per step, with the model taken away: a backend whose forward
// returns at once (tokens "drawn on the device" from a hash) under G3's workload shape (1000
// requests, ShareGPT-like lengths, a 128k vocabulary). Whatever time this takes is time a GPU
// step waits on the CPU. Usage: engine_host_bench [OUT.json] [--requests N]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/cuda/model_shapes.h"
#include "engine/engine.h"
#include "tokenizer/synthetic_tokenizer.h"

using namespace sgp;

namespace {

class NullBackend : public model::Backend {
 public:
  NullBackend() : config_(bench::llama3_8b()) {}
  const model::ModelConfig& config() const override { return config_; }
  std::string name() const override { return "null"; }
  int page_size() const override { return 16; }
  size_t page_bytes() const override { return 16 * 128 * 1024; }
  void allocate_kv(int) override {}
  void copy_page(int32_t, int32_t, int) override {}
  bool samples_on_device() const override { return true; }
  bool scores_on_device() const override { return true; }
  void forward(const model::ForwardBatch& batch, model::Logits& out) override {
    out.n_vocab = config_.n_vocab;
    out.n_rows = 0;
    out.sampled.clear();
    out.target_logprobs.clear();
    for (const auto& s : batch.seqs) {
      const int rows = s.logits == model::LogitsMode::All
                           ? static_cast<int>(s.tokens.size())
                           : (s.logits == model::LogitsMode::Last ? 1 : 0);
      for (int r = 0; r < rows; ++r) {
        const uint64_t h = (static_cast<uint64_t>(s.tokens.back()) * 0x9e3779b97f4a7c15ull) ^
                           static_cast<uint64_t>(s.start_pos + r);
        out.sampled.push_back(model::SyntheticTokenizer::kFirstWord +
                              static_cast<int32_t>(h % 100000));
        ++out.n_rows;
      }
    }
  }

 private:
  model::ModelConfig config_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string out_path = argc > 1 ? argv[1] : "";
  int n_requests = 1000;
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--requests") n_requests = std::atoi(argv[i + 1]);
  engine::EngineOptions o;
  o.kv_memory_bytes = size_t(54) << 30;  // what the H100 run gets; pages are never touched
  o.max_running = 512;
  o.max_step_tokens = 8192;
  auto tok = std::make_shared<model::SyntheticTokenizer>(128256);
  engine::Engine eng(std::make_unique<NullBackend>(), tok, o);
  std::mt19937_64 g(2024);
  auto len = [&](double mean) {
    std::lognormal_distribution<double> d(std::log(mean) - 0.405, 0.9);
    return d(g);
  };
  std::vector<std::promise<void>> ps(static_cast<size_t>(n_requests));
  long out_total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n_requests; ++i) {
    engine::GenerateRequest r;
    const int in = std::clamp(static_cast<int>(std::lround(len(250))), 8, 2048);
    const int out = std::clamp(static_cast<int>(std::lround(len(200))), 4, 1024);
    for (int k = 0; k < in; ++k)
      r.prompt.push_back(model::SyntheticTokenizer::kFirstWord +
                         static_cast<int32_t>(g() % 100000));
    r.sampling.max_tokens = out;
    r.sampling.ignore_eos = true;
    r.sampling.temperature = 0.0f;
    out_total += out;
    r.on_done = [p = &ps[static_cast<size_t>(i)]](engine::GenerateResult) { p->set_value(); };
    eng.submit(std::move(r));
  }
  for (auto& p : ps) p.get_future().wait();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto st = eng.stats();
  nlohmann::json j;
  j["requests"] = n_requests;
  j["output_tokens"] = out_total;
  j["steps"] = st.steps;
  j["seconds"] = secs;
  j["host_us_per_step"] = secs / st.steps * 1e6;
  j["host_us_per_output_token"] = secs / out_total * 1e6;
  std::printf(
      "%d requests, %llu steps, %.3f s: %.0f us of host work per step, %.2f us per output token\n",
      n_requests, static_cast<unsigned long long>(st.steps), secs, secs / st.steps * 1e6,
      secs / out_total * 1e6);
  if (!out_path.empty()) std::ofstream(out_path) << j.dump(1) << "\n";
}
