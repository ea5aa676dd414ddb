#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// CPU backend on the default model: logits vs the float64 reference, and paged-KV invariances.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "model/backend.h"
#include "sgp/error.h"

using namespace sgp::model;

namespace {

const std::string kModel = SGP_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
const std::string kData = SGP_SOURCE_DIR "/tests/data/model/";

Backend& model() {
  static std::unique_ptr<Backend> b = [] {
    REQUIRE_MESSAGE(std::filesystem::exists(kModel), "missing " << kModel << " (run `make model`)");
    auto be = load_cpu_backend(kModel, {0, 16});
    be->allocate_kv(64);
    return be;
  }();
  return *b;
}

nlohmann::json golden() {
  std::ifstream in(kData + "smollm2_logits.json");
  REQUIRE_MESSAGE(in.good(), "missing golden smollm2_logits.json");
  return nlohmann::json::parse(in);
}

std::vector<int32_t> pages(int first, int n, int step = 1) {
  std::vector<int32_t> p(n);
  for (int i = 0; i < n; ++i) p[i] = first + i * step;
  return p;
}

int argmax(const float* x, int n) {
  return static_cast<int>(std::max_element(x, x + n) - x);
}

// Runs a prompt as the given chunk sizes (each a separate forward), logits of every position.
std::vector<float> run_chunks(const std::vector<int32_t>& ids, const std::vector<int>& chunks,
                              const std::vector<int32_t>& page_table) {
  Backend& b = model();
  std::vector<float> all;
  int pos = 0;
  for (int n : chunks) {
    ForwardBatch batch;
    SeqChunk sc;
    sc.tokens.assign(ids.begin() + pos, ids.begin() + pos + n);
    sc.start_pos = pos;
    sc.pages = page_table;
    sc.logits = LogitsMode::All;
    batch.seqs.push_back(sc);
    Logits out;
    b.forward(batch, out);
    REQUIRE(out.n_rows == n);
    all.insert(all.end(), out.data.begin(), out.data.end());
    pos += n;
  }
  REQUIRE(pos == static_cast<int>(ids.size()));
  return all;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("cpu backend: last-position logits match the float64 reference") {
  nlohmann::json g = golden();
  const int nv = g["n_vocab"];
  Backend& b = model();
  REQUIRE(b.config().n_vocab == nv);
  std::ifstream bin(kData + "smollm2_logits.f32", std::ios::binary);
  REQUIRE(bin.good());
  float worst = 0.0f;
  for (const auto& c : g["cases"]) {
    std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    std::vector<float> ref(nv);
    bin.read(reinterpret_cast<char*>(ref.data()), sizeof(float) * nv);
    REQUIRE(bin.good());
    ForwardBatch batch;
    batch.seqs.push_back({ids, 0, pages(0, 8), LogitsMode::Last});
    Logits out;
    b.forward(batch, out);
    REQUIRE(out.n_rows == 1);
    float err = 0.0f;
    for (int i = 0; i < nv; ++i) err = std::max(err, std::fabs(out.row(0)[i] - ref[i]));
    worst = std::max(worst, err);
    INFO("prompt: " << c["text"].get<std::string>());
    CHECK(err <= 1e-2f);
    CHECK(argmax(out.row(0), nv) == c["argmax"].get<int>());
  }
  MESSAGE("max-abs-error vs float64 reference: " << worst);
}

TEST_CASE("cpu backend: every position's top-50 logits match the reference") {
  nlohmann::json g = golden();
  Backend& b = model();
  const int nv = b.config().n_vocab;
  for (const auto& c : g["cases"]) {
    if (!c.contains("top_per_position")) continue;
    std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    ForwardBatch batch;
    batch.seqs.push_back({ids, 0, pages(3, 4), LogitsMode::All});
    Logits out;
    b.forward(batch, out);
    REQUIRE(out.n_rows == static_cast<int>(ids.size()));
    for (int p = 0; p < out.n_rows; ++p) {
      const auto& top = c["top_per_position"][p];
      CHECK(argmax(out.row(p), nv) == top["ids"][0].get<int>());
      for (size_t k = 0; k < top["ids"].size(); ++k) {
        CHECK(std::fabs(out.row(p)[top["ids"][k].get<int>()] - top["logits"][k].get<float>()) <=
              1e-2f);
      }
    }
  }
}

TEST_CASE("cpu backend: chunked prefill, decode steps and scattered pages give identical logits") {
  nlohmann::json g = golden();
  std::vector<int32_t> ids = g["cases"][5]["ids"].get<std::vector<int32_t>>();
  const int n = static_cast<int>(ids.size());
  REQUIRE(n > 48);
  std::vector<float> one = run_chunks(ids, {n}, pages(0, 8));
  std::vector<float> several = run_chunks(ids, {17, 1, 30, n - 48}, pages(8, 8));
  std::vector<int> singles(n, 1);
  std::vector<float> steps = run_chunks(ids, singles, {40, 2, 63, 17, 5, 30, 9, 11});
  std::vector<float> mixed = run_chunks(ids, {n - 3, 1, 1, 1}, pages(56, 8, -7));
  CHECK(max_diff(one, several) == 0.0f);
  CHECK(max_diff(one, steps) == 0.0f);
  CHECK(max_diff(one, mixed) == 0.0f);
}

TEST_CASE("cpu backend: a ragged batch gives bit-identical logits to its sequences run alone") {
  nlohmann::json g = golden();
  Backend& b = model();
  std::vector<int32_t> a = g["cases"][0]["ids"].get<std::vector<int32_t>>();
  std::vector<int32_t> c = g["cases"][3]["ids"].get<std::vector<int32_t>>();
  // Alone: a fully, c as prefill of all but its last token, then that token as a decode.
  std::vector<float> ref_a = run_chunks(a, {static_cast<int>(a.size())}, pages(0, 4));
  std::vector<float> ref_c = run_chunks(c, {static_cast<int>(c.size())}, pages(10, 4));
  // Together: c's prefix first, then one batch holding a's prefill and c's decode.
  ForwardBatch pre;
  std::vector<int32_t> c_head(c.begin(), c.end() - 1);
  pre.seqs.push_back({c_head, 0, pages(20, 4), LogitsMode::None});
  Logits out;
  b.forward(pre, out);
  CHECK(out.n_rows == 0);
  ForwardBatch mix;
  mix.seqs.push_back({a, 0, pages(30, 4), LogitsMode::All});
  mix.seqs.push_back(
      {{c.back()}, static_cast<int32_t>(c.size()) - 1, pages(20, 4), LogitsMode::Last});
  b.forward(mix, out);
  const int nv = b.config().n_vocab;
  REQUIRE(out.n_rows == static_cast<int>(a.size()) + 1);
  std::vector<float> got_a(out.data.begin(), out.data.begin() + a.size() * nv);
  std::vector<float> got_c(out.row(static_cast<int>(a.size())), out.row(out.n_rows));
  std::vector<float> want_c(ref_c.end() - nv, ref_c.end());
  CHECK(max_diff(got_a, ref_a) == 0.0f);
  CHECK(max_diff(got_c, want_c) == 0.0f);
}

TEST_CASE("cpu backend: copy_page forks a partially filled page") {
  nlohmann::json g = golden();
  Backend& b = model();
  std::vector<int32_t> ids = g["cases"][5]["ids"].get<std::vector<int32_t>>();
  // 20 shared tokens fill page 0 and 4 slots of page 1; two continuations diverge after them.
  std::vector<int32_t> head(ids.begin(), ids.begin() + 20);
  std::vector<int32_t> tail1(ids.begin() + 20, ids.begin() + 26);
  std::vector<int32_t> tail2(ids.begin() + 40, ids.begin() + 45);
  Logits out;
  ForwardBatch pre;
  pre.seqs.push_back({head, 0, {0, 1}, LogitsMode::None});
  b.forward(pre, out);
  b.copy_page(1, 2, 4);
  ForwardBatch fork;
  fork.seqs.push_back({tail1, 20, {0, 1}, LogitsMode::Last});
  fork.seqs.push_back({tail2, 20, {0, 2}, LogitsMode::Last});
  b.forward(fork, out);
  std::vector<float> got1(out.row(0), out.row(1)), got2(out.row(1), out.row(2));

  auto fresh = [&](const std::vector<int32_t>& tail) {
    std::vector<int32_t> all = head;
    all.insert(all.end(), tail.begin(), tail.end());
    std::vector<float> r = run_chunks(all, {static_cast<int>(all.size())}, pages(40, 3));
    return std::vector<float>(r.end() - b.config().n_vocab, r.end());
  };
  CHECK(max_diff(got1, fresh(tail1)) == 0.0f);
  CHECK(max_diff(got2, fresh(tail2)) == 0.0f);
}

TEST_CASE("cpu backend: bad batches are rejected with clear errors") {
  Backend& b = model();
  Logits out;
  ForwardBatch short_table;
  short_table.seqs.push_back({{1, 2, 3}, 15, {0}, LogitsMode::Last});
  CHECK_THROWS_WITH_AS(b.forward(short_table, out), doctest::Contains("page table covers"),
                       sgp::Error);
  ForwardBatch bad_page;
  bad_page.seqs.push_back({{1, 2, 3}, 0, {999}, LogitsMode::Last});
  CHECK_THROWS_WITH_AS(b.forward(bad_page, out), doctest::Contains("not allocated"), sgp::Error);
  ForwardBatch bad_token;
  bad_token.seqs.push_back({{1, 49152}, 0, {0}, LogitsMode::Last});
  CHECK_THROWS_WITH_AS(b.forward(bad_token, out), doctest::Contains("outside the vocabulary"),
                       sgp::Error);
  CHECK_THROWS_AS(b.copy_page(0, 64, 1), sgp::Error);
}
