// The CUDA backend end to end: chunked vs whole prefill, copy-on-write pages, bad input, and
// (SGP_CUDA_HF_DIR, written by tools/ref_cuda_hf.py) logits vs Hugging Face transformers in fp32.
#include "kernels/cuda/cuda_backend.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>

#include "sgp/error.h"
#include "tests/cuda/gpu_test_util.h"

using namespace sgp;
using namespace sgp::model;
using namespace sgp::cuda::test;

namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 512;
  c.n_embd = 256;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 64;
  c.n_ff = 512;
  c.rope_theta = 10000.f;
  return c;
}

std::vector<int32_t> random_tokens(int n, int vocab) {
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng()() % vocab);
  return t;
}

// Distinct shuffled page ids, so a kernel that ignores the page table cannot pass.
std::vector<int32_t> take_pages(std::vector<int32_t>& free_pages, int n) {
  std::vector<int32_t> r(free_pages.end() - n, free_pages.end());
  free_pages.resize(free_pages.size() - n);
  return r;
}

std::vector<int32_t> shuffled_pages(int n) {
  std::vector<int32_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng());
  return p;
}

double rel_err(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

int argmax(const float* v, int n) {
  return static_cast<int>(std::max_element(v, v + n) - v);
}

}  // namespace

TEST_CASE("chunked prefill plus decode steps match one whole prefill") {
  auto b = make_random_cuda_backend(small_config(), 7);
  const int V = b->config().n_vocab, ps = b->page_size();
  b->allocate_kv(64);
  auto free_pages = shuffled_pages(64);
  const int n = 40;
  const auto tokens = random_tokens(n, V);

  ForwardBatch whole;
  whole.seqs.push_back({tokens, 0, take_pages(free_pages, (n + ps - 1) / ps), LogitsMode::All});
  Logits ref;
  b->forward(whole, ref);
  REQUIRE(ref.n_rows == n);
  REQUIRE(ref.n_vocab == V);

  const auto pages = take_pages(free_pages, (n + ps - 1) / ps);
  std::vector<float> got;
  ForwardBatch first;
  first.seqs.push_back(
      {std::vector<int32_t>(tokens.begin(), tokens.begin() + 13), 0, pages, LogitsMode::All});
  Logits out;
  b->forward(first, out);
  REQUIRE(out.n_rows == 13);
  got.insert(got.end(), out.data.begin(), out.data.end());
  for (int p = 13; p < n; ++p) {
    ForwardBatch step;
    step.seqs.push_back({{tokens[p]}, p, pages, LogitsMode::Last});
    b->forward(step, out);
    REQUIRE(out.n_rows == 1);
    got.insert(got.end(), out.data.begin(), out.data.end());
  }
  const double err = rel_err(got.data(), ref.data.data(), got.size());
  MESSAGE("chunked vs whole prefill: relative error " << err);
  CHECK(all_finite(got));
  CHECK(err < 1e-2);
}

TEST_CASE("tensor-core and CUDA-core prefill attention give the same logits") {
  auto be = make_random_cuda_backend(small_config(), 5);
  auto* b = static_cast<sgp::cuda::CudaBackend*>(be.get());
  b->allocate_kv(32);
  ForwardBatch batch;
  batch.seqs.push_back({random_tokens(70, 512), 0, {3, 1, 8, 20, 9}, LogitsMode::All});
  batch.seqs.push_back({random_tokens(5, 512), 0, {30}, LogitsMode::All});
  Logits tc, plain;
  b->forward(batch, tc);
  b->set_tensor_core_prefill(false);
  b->forward(batch, plain);
  REQUIRE(tc.n_rows == 75);
  const double err = rel_err(tc.data.data(), plain.data.data(), tc.data.size());
  MESSAGE("tensor-core vs CUDA-core prefill: relative error " << err);
  CHECK(all_finite(tc.data));
  CHECK(err < 1e-2);
}

TEST_CASE("a sequence continued from a copied (copy-on-write) page matches a straight prefill") {
  auto b = make_random_cuda_backend(small_config(), 11);
  const int V = b->config().n_vocab;
  b->allocate_kv(16);
  const auto tokens = random_tokens(31, V);
  // Straight: all 31 tokens in pages {3, 9}.
  ForwardBatch straight;
  straight.seqs.push_back({tokens, 0, {3, 9}, LogitsMode::All});
  Logits ref;
  b->forward(straight, ref);
  // Shared prefix of 21 tokens in pages {5, 12}; page 12 holds 5 slots, copied to page 7.
  ForwardBatch prefix;
  prefix.seqs.push_back(
      {std::vector<int32_t>(tokens.begin(), tokens.begin() + 21), 0, {5, 12}, LogitsMode::None});
  Logits none;
  b->forward(prefix, none);
  CHECK(none.n_rows == 0);
  b->copy_page(12, 7, 5);
  // Overwrite the original page's tail with another continuation: the copy must not see it.
  ForwardBatch other;
  other.seqs.push_back({random_tokens(10, V), 21, {5, 12}, LogitsMode::None});
  b->forward(other, none);
  ForwardBatch cont;
  cont.seqs.push_back(
      {std::vector<int32_t>(tokens.begin() + 21, tokens.end()), 21, {5, 7}, LogitsMode::All});
  Logits got;
  b->forward(cont, got);
  REQUIRE(got.n_rows == 10);
  const double err = rel_err(got.data.data(), ref.row(21), got.data.size());
  MESSAGE("copy-on-write continuation: relative error " << err);
  CHECK(err < 1e-2);
}

TEST_CASE("bad input is a clear error and leaves the backend usable") {
  auto b = make_random_cuda_backend(small_config(), 3);
  b->allocate_kv(4);
  Logits out;
  ForwardBatch bad_token;
  bad_token.seqs.push_back({{1, 2, 512}, 0, {0}, LogitsMode::Last});
  CHECK_THROWS_AS(b->forward(bad_token, out), Error);
  ForwardBatch bad_page;
  bad_page.seqs.push_back({{1, 2}, 0, {4}, LogitsMode::Last});
  CHECK_THROWS_AS(b->forward(bad_page, out), Error);
  ForwardBatch short_table;
  short_table.seqs.push_back({random_tokens(20, 512), 0, {0}, LogitsMode::Last});
  CHECK_THROWS_AS(b->forward(short_table, out), Error);
  CHECK_THROWS_AS(b->copy_page(0, 9, 1), Error);
  CHECK_THROWS_AS(b->allocate_kv(1 << 30), Error);  // terabytes of KV: refused up front
  b->allocate_kv(4);
  ForwardBatch ok;
  ok.seqs.push_back({{1, 2, 3}, 0, {2}, LogitsMode::Last});
  b->forward(ok, out);
  CHECK(out.n_rows == 1);
  CHECK(all_finite(out.data));

  ModelConfig huge = small_config();
  huge.n_vocab = 1 << 20;
  huge.n_embd = 1 << 16;  // a 256 GiB embedding table
  huge.n_ff = 1 << 16;
  huge.n_head = 512;
  huge.n_head_kv = 64;
  huge.head_dim = 128;
  CHECK_THROWS_AS(make_random_cuda_backend(huge, 1), Error);
}

TEST_CASE("logits match Hugging Face transformers (fp32) on a random Llama model") {
  const char* dir = std::getenv("SGP_CUDA_HF_DIR");
  if (!dir) {
    MESSAGE("SGP_CUDA_HF_DIR not set: run tools/ref_cuda_hf.py first (scripts/gpu_check.sh does)");
    return;
  }
  auto b = load_cuda_backend(std::string(dir) + "/model");
  const int V = b->config().n_vocab, ps = b->page_size();
  const HfCase hf = read_hf_case(dir, V);
  const int n_prompts = static_cast<int>(hf.prompts.size()), n_gen = hf.n_gen;
  const auto& prompts = hf.prompts;
  const auto& gen = hf.greedy;
  const auto& ref = hf.logits;

  // All prompts as one ragged batch, then teacher-forced decode steps with HF's greedy tokens.
  int total_pages = 0;
  for (auto& p : prompts) total_pages += (static_cast<int>(p.size()) + n_gen + ps - 1) / ps;
  b->allocate_kv(total_pages);
  auto free_pages = shuffled_pages(total_pages);
  std::vector<std::vector<int32_t>> tables(n_prompts);
  for (int i = 0; i < n_prompts; ++i)
    tables[i] = take_pages(free_pages, (static_cast<int>(prompts[i].size()) + n_gen + ps - 1) / ps);
  std::vector<float> got(ref.size());
  Logits out;
  for (int step = 0; step < n_gen; ++step) {
    ForwardBatch batch;
    for (int i = 0; i < n_prompts; ++i) {
      const int plen = static_cast<int>(prompts[i].size());
      if (step == 0)
        batch.seqs.push_back({prompts[i], 0, tables[i], LogitsMode::Last});
      else
        batch.seqs.push_back({{gen[i][step - 1]}, plen + step - 1, tables[i], LogitsMode::Last});
    }
    b->forward(batch, out);
    REQUIRE(out.n_rows == n_prompts);
    for (int i = 0; i < n_prompts; ++i)
      std::copy(out.row(i), out.row(i) + V,
                got.begin() + (static_cast<size_t>(i) * n_gen + step) * V);
  }
  int agree = 0;
  double worst_row = 0;
  for (size_t r = 0; r < ref.size() / V; ++r) {
    agree += argmax(got.data() + r * V, V) == argmax(ref.data() + r * V, V);
    worst_row = std::max(worst_row, rel_err(got.data() + r * V, ref.data() + r * V, V));
  }
  const double err = rel_err(got.data(), ref.data(), ref.size());
  const double frac = static_cast<double>(agree) / (ref.size() / V);
  MESSAGE("vs HF fp32: relative error " << err << " (worst row " << worst_row
                                        << "), greedy agreement " << frac << " over "
                                        << ref.size() / V << " positions");
  CHECK(all_finite(got));
  CHECK(err <= 2e-2);
  CHECK(frac >= 0.95);
  if (const char* res = std::getenv("SGP_CUDA_RESULT")) {
    std::ofstream o(res);
    o << "{\"hf_rel_err\": " << err << ", \"hf_worst_row_rel_err\": " << worst_row
      << ", \"hf_greedy_agreement\": " << frac << ", \"positions\": " << ref.size() / V << "}\n";
  }
}
