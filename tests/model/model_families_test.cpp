#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// Mistral (sliding window), Llama-3 (llama3 rope scaling) and Qwen2 (QKV bias) Hugging Face
// folders against float64 goldens from tools/ref_hf_tiny.py, in one pass and decoded step by
// step over scattered pages.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/backend.h"
#include "model/model_config.h"
#include "sgp/error.h"

using namespace sgp::model;

namespace {

const std::string kData = SGP_SOURCE_DIR "/tests/data/model/";
constexpr float kTol = 1e-3f;

struct Golden {
  std::vector<int32_t> ids;
  int n_vocab = 0;
  double ignored_diff = 0;
  std::vector<float> logits;  // every position
};

Golden golden(const std::string& dir) {
  std::ifstream in(dir + "/golden.json");
  REQUIRE_MESSAGE(in.good(), "missing " << dir << "/golden.json (tools/ref_hf_tiny.py)");
  nlohmann::json j = nlohmann::json::parse(in);
  Golden g;
  g.ids = j["ids"].get<std::vector<int32_t>>();
  g.n_vocab = j["n_vocab"].get<int>();
  g.ignored_diff = j["max_abs_diff_if_feature_ignored"].get<double>();
  g.logits.resize(g.ids.size() * g.n_vocab);
  std::ifstream f(dir + "/golden.f32", std::ios::binary);
  f.read(reinterpret_cast<char*>(g.logits.data()),
         static_cast<std::streamsize>(g.logits.size() * sizeof(float)));
  REQUIRE(f.gcount() == static_cast<std::streamsize>(g.logits.size() * sizeof(float)));
  return g;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Logits of every position, the prompt split into the given chunk sizes (one forward each).
std::vector<float> run(Backend& b, const std::vector<int32_t>& ids, const std::vector<int>& chunks,
                       const std::vector<int32_t>& pages) {
  std::vector<float> all;
  int pos = 0;
  for (int n : chunks) {
    ForwardBatch batch;
    SeqChunk sc;
    sc.tokens.assign(ids.begin() + pos, ids.begin() + pos + n);
    sc.start_pos = pos;
    sc.pages = pages;
    sc.logits = LogitsMode::All;
    batch.seqs.push_back(sc);
    Logits out;
    b.forward(batch, out);
    all.insert(all.end(), out.data.begin(), out.data.end());
    pos += n;
  }
  REQUIRE(pos == static_cast<int>(ids.size()));
  return all;
}

void check_family(const std::string& name, const std::string& feature) {
  const std::string dir = kData + "tiny_" + name;
  Golden g = golden(dir);
  // The golden would catch a backend that ignored the family's feature.
  CHECK(g.ignored_diff > 50 * kTol);
  auto b = load_cpu_backend(dir, {2, 4});
  CHECK(b->config().n_vocab == g.n_vocab);
  if (feature == "window") CHECK(b->config().sliding_window == 5);
  if (feature == "llama3") CHECK(b->config().rope_scaling.type == "llama3");
  if (feature == "bias") CHECK(b->config().qkv_bias);
  b->allocate_kv(16);
  const int n = static_cast<int>(g.ids.size());
  std::vector<float> one = run(*b, g.ids, {n}, {0, 1, 2, 3, 4});
  CHECK(max_diff(one, g.logits) <= kTol);
  // Prefill 7, then one token at a time, with pages out of order.
  std::vector<int> chunks = {7};
  for (int i = 7; i < n; ++i) chunks.push_back(1);
  std::vector<float> steps = run(*b, g.ids, chunks, {9, 2, 14, 5, 11});
  CHECK(max_diff(steps, g.logits) <= kTol);
}

}  // namespace

TEST_CASE("families: Mistral sliding-window attention matches the float64 reference") {
  check_family("mistral", "window");
}

TEST_CASE("families: Llama-3 rope scaling matches the float64 reference") {
  check_family("llama3", "llama3");
}

TEST_CASE("families: Qwen2 QKV biases (tied head) match the float64 reference") {
  check_family("qwen2", "bias");
}

TEST_CASE("families: sliding-window settings in config.json") {
  nlohmann::json c = nlohmann::json::parse(std::ifstream(kData + "tiny_mistral/config.json"));
  c["sliding_window"] = nullptr;  // Mistral v0.2+: full attention
  CHECK(config_from_hf(c).sliding_window == 0);
  c["sliding_window"] = -3;
  CHECK_THROWS_WITH_AS(config_from_hf(c), doctest::Contains("sliding window"), sgp::Error);
  nlohmann::json q = nlohmann::json::parse(std::ifstream(kData + "tiny_qwen2/config.json"));
  CHECK(config_from_hf(q).sliding_window == 0);  // present, but use_sliding_window is false
  q["use_sliding_window"] = true;
  CHECK_THROWS_WITH_AS(config_from_hf(q), doctest::Contains("use_sliding_window"), sgp::Error);
  nlohmann::json l = nlohmann::json::parse(std::ifstream(kData + "tiny_llama3/config.json"));
  l["sliding_window"] = 4;  // not a Llama setting
  CHECK(config_from_hf(l).sliding_window == 0);
}
