// CUDA logits vs the CPU backend (the project's reference backend) on the same random model
// written by tools/ref_cuda_hf.py (SGP_CUDA_HF_DIR): prefill plus teacher-forced decode steps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>

#include "kernels/cuda/cuda_backend.h"
#include "model/backend.h"
#include "tests/cuda/gpu_test_util.h"

using namespace sgp::model;
using namespace sgp::cuda::test;

namespace {

// Runs prompts (as one ragged batch) then `steps` teacher-forced decodes; rows [prompt][step].
std::vector<float> run(Backend& b, const HfCase& hf, int n_prompts, int steps) {
  const int V = b.config().n_vocab, ps = b.page_size();
  std::vector<std::vector<int32_t>> tables(n_prompts);
  int next = 0;
  for (int i = 0; i < n_prompts; ++i) {
    const int n = (static_cast<int>(hf.prompts[i].size()) + steps + ps - 1) / ps;
    for (int p = 0; p < n; ++p) tables[i].push_back(next++);
  }
  b.allocate_kv(next);
  std::vector<float> rows(static_cast<size_t>(n_prompts) * steps * V);
  Logits out;
  for (int step = 0; step < steps; ++step) {
    ForwardBatch batch;
    for (int i = 0; i < n_prompts; ++i) {
      const int plen = static_cast<int>(hf.prompts[i].size());
      if (step == 0)
        batch.seqs.push_back({hf.prompts[i], 0, tables[i], LogitsMode::Last});
      else
        batch.seqs.push_back(
            {{hf.greedy[i][step - 1]}, plen + step - 1, tables[i], LogitsMode::Last});
    }
    b.forward(batch, out);
    REQUIRE(out.n_rows == n_prompts);
    for (int i = 0; i < n_prompts; ++i)
      std::copy(out.row(i), out.row(i) + V,
                rows.begin() + (static_cast<size_t>(i) * steps + step) * V);
  }
  return rows;
}

}  // namespace

TEST_CASE("CUDA logits match the CPU backend on the same model") {
  const char* dir = std::getenv("SGP_CUDA_HF_DIR");
  if (!dir) {
    MESSAGE("SGP_CUDA_HF_DIR not set: run tools/ref_cuda_hf.py first (scripts/gpu_check.sh does)");
    return;
  }
  const std::string model_dir = std::string(dir) + "/model";
  auto gpu = load_cuda_backend(model_dir);
  auto cpu = load_cpu_backend(model_dir);
  REQUIRE(cpu->config().n_vocab == gpu->config().n_vocab);
  const int V = gpu->config().n_vocab;
  const HfCase hf = read_hf_case(dir, V);
  const int n_prompts = std::min<int>(6, static_cast<int>(hf.prompts.size())), steps = 12;
  const auto a = run(*gpu, hf, n_prompts, steps);
  const auto b = run(*cpu, hf, n_prompts, steps);
  double num = 0, den = 0;
  int agree = 0;
  for (size_t r = 0; r < a.size() / V; ++r) {
    const float* x = a.data() + r * V;
    const float* y = b.data() + r * V;
    for (int i = 0; i < V; ++i) {
      num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      den += static_cast<double>(y[i]) * y[i];
    }
    agree += std::max_element(x, x + V) - x == std::max_element(y, y + V) - y;
  }
  const double err = std::sqrt(num / den);
  const double frac = static_cast<double>(agree) / (a.size() / V);
  MESSAGE("CUDA vs CPU backend: relative error " << err << ", argmax agreement " << frac);
  CHECK(all_finite(a));
  CHECK(err <= 2e-2);
  CHECK(frac >= 0.95);
  if (const char* res = std::getenv("SGP_CUDA_RESULT")) {
    std::ofstream o(res);
    o << "{\"cpu_rel_err\": " << err << ", \"cpu_argmax_agreement\": " << frac << "}\n";
  }
}

TEST_CASE("GGUF (Q8_0, Q4_1, F16, rope_freqs): CUDA logits match the CPU backend") {
  const char* path = std::getenv("SGP_CUDA_GGUF");
  if (!path) {
    MESSAGE("SGP_CUDA_GGUF not set: write one with tools/ref_cuda_gguf.py");
    return;
  }
  auto gpu = load_cuda_backend(path);
  auto cpu = load_cpu_backend(path);
  const int V = gpu->config().n_vocab;
  REQUIRE(cpu->config().n_vocab == V);
  // Random prompts with random "greedy" continuations, teacher-forced on both backends.
  HfCase c;
  c.n_gen = 10;
  for (int i = 0; i < 5; ++i) {
    std::vector<int32_t> p(8 + static_cast<int>(rng()() % 60)), g(c.n_gen);
    for (auto& t : p) t = static_cast<int32_t>(rng()() % V);
    for (auto& t : g) t = static_cast<int32_t>(rng()() % V);
    c.prompts.push_back(p);
    c.greedy.push_back(g);
  }
  const auto a = run(*gpu, c, 5, c.n_gen);
  const auto b = run(*cpu, c, 5, c.n_gen);
  double num = 0, den = 0;
  int agree = 0;
  for (size_t r = 0; r < a.size() / V; ++r) {
    const float* x = a.data() + r * V;
    const float* y = b.data() + r * V;
    for (int i = 0; i < V; ++i) {
      num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      den += static_cast<double>(y[i]) * y[i];
    }
    agree += std::max_element(x, x + V) - x == std::max_element(y, y + V) - y;
  }
  const double err = std::sqrt(num / den), frac = static_cast<double>(agree) / (a.size() / V);
  MESSAGE("GGUF CUDA vs CPU: relative error " << err << ", argmax agreement " << frac);
  CHECK(all_finite(a));
  CHECK(err <= 2e-2);
  CHECK(frac >= 0.95);
  if (const char* res = std::getenv("SGP_CUDA_RESULT")) {
    std::ofstream o(res);
    o << "{\"gguf_cpu_rel_err\": " << err << ", \"gguf_cpu_argmax_agreement\": " << frac << "}\n";
  }
}
