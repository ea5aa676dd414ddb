// G3 and G4 of PERFORMANCE.md on one GPU: the whole engine (scheduler, radix cache, device
// sampling) over the CUDA backend with a Llama-3-8B-shaped random-weight model.
//   G3: 1000 requests, ShareGPT-like seeded lengths, output tokens/s (the HF reference runs in
//       tools/ref_hf_generate.py on the same card; tools/ref_cuda_report.py forms the ratio).
//   G4: a few-shot select workload (questions sharing a 600-token preamble, 4 choices each,
//       scored in one batched forward per question) with the radix cache on vs off.
// G3 runs twice, with the host's planning of step N+1 overlapped with the GPU's step N and
// without (EngineOptions::overlap); SGP_OVERLAP=1 or 0 runs only that one. The headline
// G3_output_tok_s is the overlapped run's.
// Usage: engine_bench OUT.json [--requests N] [--programs N]
#include <cuda_runtime.h>

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
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "tokenizer/synthetic_tokenizer.h"

using namespace sgp;
using Clock = std::chrono::steady_clock;

namespace {

using bench::llama3_8b;

size_t kv_budget() {
  return model::cuda_kv_budget(0.92, 8192, 512, llama3_8b());
}

int lognormal_len(std::mt19937_64& g, double mean, double sigma, int lo, int hi) {
  std::lognormal_distribution<double> d(std::log(mean) - sigma * sigma / 2, sigma);
  return std::clamp(static_cast<int>(std::lround(d(g))), lo, hi);
}

std::vector<int32_t> words(std::mt19937_64& g, int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t)
    x = model::SyntheticTokenizer::kFirstWord +
        static_cast<int32_t>(g() %
                             static_cast<uint64_t>(vocab - model::SyntheticTokenizer::kFirstWord));
  return t;
}

struct Engine {
  std::unique_ptr<engine::Engine> e;
  cuda::CudaBackend* gpu = nullptr;  // owned by `e`; read for its decode graph counters
  Engine(bool radix, size_t kv_bytes, std::unique_ptr<model::Backend> b, bool overlap = false) {
    gpu = static_cast<cuda::CudaBackend*>(b.get());
    gpu->set_overlap(overlap);
    engine::EngineOptions o;
    o.kv_memory_bytes = kv_bytes;
    o.max_running = 512;
    o.max_step_tokens = 8192;
    o.radix_cache = radix;
    o.overlap = overlap;
    auto tok = std::make_shared<model::SyntheticTokenizer>(b->config().n_vocab);
    e = std::make_unique<engine::Engine>(std::move(b), tok, o);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string out_path = argc > 1 ? argv[1] : "engine_bench.json";
  int n_requests = 1000, n_programs = 1024;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--requests") n_requests = std::atoi(argv[i + 1]);
    if (a == "--programs") n_programs = std::atoi(argv[i + 1]);
  }
  nlohmann::json j;
  const model::ModelConfig cfg = llama3_8b();

  // G3: the workload, seeded; prompt/output lengths also written for the HF reference.
  std::mt19937_64 g(2024);
  std::vector<engine::GenerateRequest> reqs;
  long in_total = 0, out_total = 0;
  nlohmann::json lens = nlohmann::json::array();
  for (int i = 0; i < n_requests; ++i) {
    const int in = lognormal_len(g, 250, 0.9, 8, 2048);
    const int out = lognormal_len(g, 200, 0.9, 4, 1024);
    engine::GenerateRequest r;
    r.prompt = words(g, in, cfg.n_vocab);
    r.sampling.max_tokens = out;
    r.sampling.ignore_eos = true;
    r.sampling.temperature = 0.0f;
    reqs.push_back(std::move(r));
    in_total += in;
    out_total += out;
    lens.push_back({in, out});
  }
  j["G3_requests"] = n_requests;
  j["G3_mean_input"] = double(in_total) / n_requests;
  j["G3_mean_output"] = double(out_total) / n_requests;
  std::vector<bool> modes;
  const char* env = std::getenv("SGP_OVERLAP");
  if (!env || std::string(env) != "1") modes.push_back(false);
  if (!env || std::string(env) != "0") modes.push_back(true);
  int errors = 0;
  std::vector<std::vector<int32_t>> first;  // the first run's outputs, to compare the second's
  for (bool overlap : modes) {
    const std::string tag = overlap ? "_overlap_on" : "_overlap_off";
    auto backend = model::make_random_cuda_backend(cfg, 7);
    const size_t kv_bytes = kv_budget();
    j["kv_budget_GiB"] = kv_bytes / double(1 << 30);
    std::printf("KV budget %.1f GiB\n", kv_bytes / double(1 << 30));
    Engine eng(true, kv_bytes, std::move(backend), overlap);
    j["cuda_graphs"] = eng.gpu->decode_graph_mode() == cuda::DecodeGraphMode::Graph;
    {
      // Warm-up: cuBLAS heuristics and scratch buffers settle.
      std::vector<std::promise<void>> ps(64);
      for (int i = 0; i < 64; ++i) {
        auto r = reqs[static_cast<size_t>(i)];
        r.sampling.max_tokens = 8;
        r.on_done = [p = &ps[static_cast<size_t>(i)]](engine::GenerateResult) { p->set_value(); };
        eng.e->submit(std::move(r));
      }
      for (auto& p : ps) p.get_future().wait();
      eng.e->clear_cache();
    }
    const auto before = eng.e->stats();
    const auto graphs_before = eng.gpu->cuda_graph_stats();
    std::vector<std::promise<engine::GenerateResult>> ps(reqs.size());
    const auto t0 = Clock::now();
    for (size_t i = 0; i < reqs.size(); ++i) {
      auto r = reqs[i];
      r.on_done = [p = &ps[i]](engine::GenerateResult res) { p->set_value(std::move(res)); };
      eng.e->submit(std::move(r));
    }
    long produced = 0;
    int run_errors = 0;
    std::vector<std::vector<int32_t>> outs;
    for (auto& p : ps) {
      auto r = p.get_future().get();
      produced += static_cast<long>(r.tokens.size());
      run_errors += r.finish == engine::FinishReason::Error;
      outs.push_back(std::move(r.tokens));
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto after = eng.e->stats();
    const auto graphs_after = eng.gpu->cuda_graph_stats();
    const long replays = graphs_after.replays - graphs_before.replays;
    errors += run_errors;
    // Headline figures: the overlapped run where there is one.
    for (const std::string& suffix : {tag, overlap || modes.size() == 1 ? std::string() : tag}) {
      j["G3_seconds" + suffix] = secs;
      j["G3_output_tokens" + suffix] = produced;
      j["G3_errors" + suffix] = run_errors;
      j["G3_output_tok_s" + suffix] = produced / secs;
      j["G3_total_tok_s" + suffix] = (produced + in_total) / secs;
      j["G3_steps" + suffix] = after.steps - before.steps;
      j["G3_overlapped_steps" + suffix] = after.overlapped_steps - before.overlapped_steps;
      j["G3_forward_seconds" + suffix] = after.forward_seconds - before.forward_seconds;
      j["G3_max_batch_seqs" + suffix] = after.max_batch_seqs;
      j["G3_preemptions" + suffix] = after.preemptions - before.preemptions;
      // Decode steps replayed as CUDA graphs (on unless SGP_CUDA_GRAPHS=0); the other steps
      // carried prefill rows or ran a bucket's launches once before capturing it.
      j["G3_graph_replays" + suffix] = replays;
      j["G3_graph_captures" + suffix] = graphs_after.captures - graphs_before.captures;
    }
    j["G3_expected_output_tokens"] = out_total;
    std::printf(
        "G3 overlap %s: %d requests, %ld output tokens in %.2f s: %.0f output tok/s (%llu steps, "
        "%llu overlapped, %ld CUDA graph replays, %.2f s waiting on the GPU)\n",
        overlap ? "on" : "off", n_requests, produced, secs, produced / secs,
        static_cast<unsigned long long>(after.steps - before.steps),
        static_cast<unsigned long long>(after.overlapped_steps - before.overlapped_steps), replays,
        after.forward_seconds - before.forward_seconds);
    if (first.empty()) {
      first = std::move(outs);
    } else {
      // Same greedy tokens expected; batches differ a little (a request found finished had a
      // row in the next step), which may move a bf16 near-tie.
      int same = 0;
      for (size_t i = 0; i < outs.size(); ++i) same += outs[i] == first[i];
      j["G3_overlap_same_outputs"] = double(same) / static_cast<double>(outs.size());
      std::printf("G3: %d of %zu requests gave the same tokens with overlap on and off\n", same,
                  outs.size());
    }
  }
  if (j.contains("G3_output_tok_s_overlap_on") && j.contains("G3_output_tok_s_overlap_off"))
    j["G3_overlap_gain"] = j["G3_output_tok_s_overlap_on"].get<double>() /
                           j["G3_output_tok_s_overlap_off"].get<double>();

  // G4: few-shot select, radix on vs off; same questions and choices in both runs.
  const int preamble_len = 600;
  std::mt19937_64 g4(77);
  const std::vector<int32_t> preamble = words(g4, preamble_len, cfg.n_vocab);
  std::vector<std::vector<int32_t>> prefixes;
  std::vector<std::vector<std::vector<int32_t>>> choices;
  for (int q = 0; q < n_programs; ++q) {
    std::vector<int32_t> p = preamble;
    auto qs = words(g4, 30 + static_cast<int>(g4() % 40), cfg.n_vocab);
    p.insert(p.end(), qs.begin(), qs.end());
    prefixes.push_back(std::move(p));
    std::vector<std::vector<int32_t>> cs;
    for (int c = 0; c < 4; ++c)
      cs.push_back(words(g4, 2 + static_cast<int>(g4() % 6), cfg.n_vocab));
    choices.push_back(std::move(cs));
  }
  double rate[2] = {0, 0};
  for (int radix = 1; radix >= 0; --radix) {
    auto b = model::make_random_cuda_backend(cfg, 7);
    Engine e4(radix == 1, kv_budget(), std::move(b));
    {  // warm-up on unrelated tokens
      std::promise<void> w;
      engine::ScoreRequest r;
      r.prefix = words(g4, 64, cfg.n_vocab);
      r.continuations = {words(g4, 3, cfg.n_vocab)};
      r.on_done = [&](engine::ScoreResult) { w.set_value(); };
      e4.e->submit(std::move(r));
      w.get_future().wait();
    }
    const auto s0 = e4.e->stats();
    std::vector<std::promise<engine::ScoreResult>> sp(static_cast<size_t>(n_programs));
    const auto t4 = Clock::now();
    for (int q = 0; q < n_programs; ++q) {
      engine::ScoreRequest r;
      r.prefix = prefixes[static_cast<size_t>(q)];
      r.continuations = choices[static_cast<size_t>(q)];
      r.on_done = [p = &sp[static_cast<size_t>(q)]](engine::ScoreResult res) {
        p->set_value(std::move(res));
      };
      e4.e->submit(std::move(r));
    }
    int failed = 0;
    for (auto& p : sp) failed += !p.get_future().get().error.empty();
    const double s = std::chrono::duration<double>(Clock::now() - t4).count();
    const auto s1 = e4.e->stats();
    const std::string tag = radix ? "on" : "off";
    j["G4_graph_replays_radix_" + tag] = e4.gpu->cuda_graph_stats().replays;
    rate[radix] = n_programs / s;
    j["G4_programs_per_s_radix_" + tag] = n_programs / s;
    j["G4_prefill_tokens_radix_" + tag] = s1.prefill_tokens - s0.prefill_tokens;
    j["G4_cached_tokens_radix_" + tag] = s1.cached_tokens - s0.cached_tokens;
    j["G4_failed_radix_" + tag] = failed;
    j["G4_forward_seconds_radix_" + tag] = s1.forward_seconds - s0.forward_seconds;
    if (radix) {
      const double optimum = double(n_programs - 1) * preamble_len;
      j["G4_hit_rate_of_optimum"] = std::min(1.0, (s1.cached_tokens - s0.cached_tokens) / optimum);
    }
    std::printf("G4 radix %s: %d programs in %.3f s (%.1f/s), prefill %llu, cached %llu\n",
                tag.c_str(), n_programs, s, n_programs / s,
                static_cast<unsigned long long>(s1.prefill_tokens - s0.prefill_tokens),
                static_cast<unsigned long long>(s1.cached_tokens - s0.cached_tokens));
  }
  j["G4"] = rate[1] / rate[0];
  j["G4_programs"] = n_programs;
  j["G4_preamble_tokens"] = preamble_len;
  std::printf("G4 (radix on / off) %.2fx\n", rate[1] / rate[0]);
  j["G3_lengths"] = lens;
  std::ofstream(out_path) << j.dump(1) << "\n";
  return errors == 0 ? 0 : 1;
}
