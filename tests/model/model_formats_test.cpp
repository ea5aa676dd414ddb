// One tiny random model written as GGUF and as a Hugging Face folder gives the same logits;
// unsupported architectures and broken folders give clear errors.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "model/backend.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "sgp/error.h"
#include "tests/model/gguf_writer.h"

using namespace sgp::model;
namespace fs = std::filesystem;

namespace {

struct Tiny {
  std::string arch = "llama";  // or "qwen2"
  int vocab = 64, d = 64, layers = 2, heads = 4, kv_heads = 2, ff = 96;
  bool tied = false;
  int hd() const { return d / heads; }
};

using Tensors = std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>;

// Random weights in Hugging Face naming and layout ([rows, cols]).
Tensors make_weights(const Tiny& m, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.2f);
  Tensors t;
  auto add = [&](const std::string& n, std::vector<int64_t> shape, float base = 0.0f) {
    int64_t count = 1;
    for (auto s : shape) count *= s;
    std::vector<float> v(count);
    for (auto& x : v) x = base + nd(rng);
    t[n] = {shape, v};
  };
  add("model.embed_tokens.weight", {m.vocab, m.d});
  add("model.norm.weight", {m.d}, 1.0f);
  if (!m.tied) add("lm_head.weight", {m.vocab, m.d});
  const int64_t kvd = int64_t{m.kv_heads} * m.hd();
  for (int l = 0; l < m.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {m.d}, 1.0f);
    add(p + "post_attention_layernorm.weight", {m.d}, 1.0f);
    add(p + "self_attn.q_proj.weight", {m.d, m.d});
    add(p + "self_attn.k_proj.weight", {kvd, m.d});
    add(p + "self_attn.v_proj.weight", {kvd, m.d});
    add(p + "self_attn.o_proj.weight", {m.d, m.d});
    add(p + "mlp.gate_proj.weight", {m.ff, m.d});
    add(p + "mlp.up_proj.weight", {m.ff, m.d});
    add(p + "mlp.down_proj.weight", {m.d, m.ff});
    if (m.arch == "qwen2") {
      add(p + "self_attn.q_proj.bias", {m.d});
      add(p + "self_attn.k_proj.bias", {kvd});
      add(p + "self_attn.v_proj.bias", {kvd});
    }
  }
  return t;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(4 * v.size());
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// llama.cpp's converter order for llama Q/K rows: within each head, halves become pairs.
std::vector<float> permute_rows(const std::vector<float>& w, int heads, int hd, int cols) {
  std::vector<float> out(w.size());
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < hd / 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        int src = h * hd + j * (hd / 2) + i, dst = h * hd + 2 * i + j;
        std::memcpy(&out[dst * cols], &w[src * cols], sizeof(float) * cols);
      }
    }
  }
  return out;
}

void write_gguf(const Tiny& m, const Tensors& t, const std::string& path) {
  sgp::test::GgufWriter w;
  w.add_str("general.architecture", m.arch);
  const std::string a = m.arch + ".";
  w.add_u32(a + "block_count", m.layers);
  w.add_u32(a + "embedding_length", m.d);
  w.add_u32(a + "feed_forward_length", m.ff);
  w.add_u32(a + "attention.head_count", m.heads);
  w.add_u32(a + "attention.head_count_kv", m.kv_heads);
  w.add_f32(a + "rope.freq_base", 10000.0f);
  w.add_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
  static const std::map<std::string, std::string> roles = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  for (const auto& [name, tv] : t) {
    const auto& [shape, v] = tv;
    std::string g;
    std::vector<float> data = v;
    if (name == "model.embed_tokens.weight")
      g = "token_embd.weight";
    else if (name == "model.norm.weight")
      g = "output_norm.weight";
    else if (name == "lm_head.weight")
      g = "output.weight";
    else {
      size_t dot = name.find('.', std::string("model.layers.").size());
      std::string layer = name.substr(13, dot - 13), role = roles.at(name.substr(dot + 1));
      g = "blk." + layer + "." + role;
      bool qk = role == "attn_q.weight" || role == "attn_k.weight";
      if (qk && m.arch == "llama") {
        int heads = role == "attn_q.weight" ? m.heads : m.kv_heads;
        data = permute_rows(v, heads, m.hd(), m.d);
      }
    }
    std::vector<uint64_t> dims(shape.rbegin(), shape.rend());
    w.add_tensor(g, dims, 0, f32_bytes(data));
  }
  sgp::test::GgufWriter::write_file(path, w.bytes());
}

// Writes the tensors as safetensors files (F32, or BF16-exact values as BF16), `shards` files.
void write_hf(const Tiny& m, const Tensors& t, const std::string& dir, int shards) {
  fs::create_directories(dir);
  nlohmann::json cfg = {
      {"architectures", {m.arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"}},
      {"hidden_size", m.d},
      {"num_hidden_layers", m.layers},
      {"num_attention_heads", m.heads},
      {"num_key_value_heads", m.kv_heads},
      {"intermediate_size", m.ff},
      {"vocab_size", m.vocab},
      {"rms_norm_eps", 1e-6},
      {"rope_theta", 10000.0},
      {"tie_word_embeddings", m.tied}};
  std::ofstream(dir + "/config.json") << cfg.dump();
  std::vector<nlohmann::json> headers(shards, nlohmann::json::object());
  std::vector<std::vector<uint8_t>> datas(shards);
  nlohmann::json index = {{"weight_map", nlohmann::json::object()}};
  int i = 0;
  for (const auto& [name, tv] : t) {
    int s = i++ % shards;
    std::vector<uint8_t> b = f32_bytes(tv.second);
    headers[s][name] = {{"dtype", "F32"},
                        {"shape", tv.first},
                        {"data_offsets", {datas[s].size(), datas[s].size() + b.size()}}};
    datas[s].insert(datas[s].end(), b.begin(), b.end());
    std::string file = shards == 1 ? "model.safetensors"
                                   : "model-0000" + std::to_string(s + 1) + "-of-0000" +
                                         std::to_string(shards) + ".safetensors";
    index["weight_map"][name] = file;
  }
  for (int s = 0; s < shards; ++s) {
    std::string file = shards == 1 ? "model.safetensors"
                                   : "model-0000" + std::to_string(s + 1) + "-of-0000" +
                                         std::to_string(shards) + ".safetensors";
    std::string h = headers[s].dump();
    std::ofstream out(dir + "/" + file, std::ios::binary);
    uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    out.write(reinterpret_cast<const char*>(datas[s].data()),
              static_cast<std::streamsize>(datas[s].size()));
  }
  if (shards > 1) std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
}

std::vector<float> logits(const std::string& path, const std::vector<int32_t>& ids) {
  auto b = load_cpu_backend(path, {2, 4});
  b->allocate_kv(8);
  ForwardBatch batch;
  batch.seqs.push_back({ids, 0, {5, 1, 7, 0}, LogitsMode::All});
  Logits out;
  b->forward(batch, out);
  return out.data;
}

std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("sgp_fmt_" + std::to_string(getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST_CASE("formats: GGUF (permuted Q/K) and safetensors folders give the same logits") {
  const std::vector<int32_t> ids = {3, 17, 42, 5, 63, 0, 9, 9, 21, 11, 30};
  for (std::string arch : {"llama", "qwen2"}) {
    for (bool tied : {false, true}) {
      Tiny m;
      m.arch = arch;
      m.tied = tied;
      INFO(arch << (tied ? " tied" : " untied"));
      Tensors t = make_weights(m, 11);
      std::string g = tmp(arch + ".gguf"), one = tmp(arch + "_hf1"), three = tmp(arch + "_hf3");
      write_gguf(m, t, g);
      write_hf(m, t, one, 1);
      write_hf(m, t, three, 3);
      std::vector<float> a = logits(g, ids), b = logits(one, ids), c = logits(three, ids);
      REQUIRE(a.size() == ids.size() * 64);
      float d1 = 0, d2 = 0, spread = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        d1 = std::max(d1, std::fabs(a[i] - b[i]));
        d2 = std::max(d2, std::fabs(b[i] - c[i]));
        spread = std::max(spread, std::fabs(a[i]));
      }
      CHECK(spread > 0.1f);  // the model is not trivially flat
      CHECK(d1 <= 1e-4f);
      CHECK(d2 == 0.0f);
      fs::remove(g);
      fs::remove_all(one);
      fs::remove_all(three);
    }
  }
}

TEST_CASE("formats: unsupported architectures and broken folders are named") {
  Tiny m;
  Tensors t = make_weights(m, 3);
  std::string g = tmp("gpt2.gguf");
  m.arch = "gpt2";
  write_gguf(m, t, g);
  CHECK_THROWS_WITH_AS(load_cpu_backend(g), doctest::Contains("unsupported architecture 'gpt2'"),
                       sgp::Error);
  fs::remove(g);

  std::string dir = tmp("hf_bad");
  m.arch = "llama";
  write_hf(m, t, dir, 1);
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  cfg["architectures"] = {"FalconForCausalLM"};
  std::ofstream(dir + "/config.json") << cfg.dump();
  CHECK_THROWS_WITH_AS(load_cpu_backend(dir), doctest::Contains("FalconForCausalLM"), sgp::Error);
  cfg["architectures"] = {"LlamaForCausalLM"};
  cfg["hidden_size"] = 80;  // shapes no longer match the tensors
  std::ofstream(dir + "/config.json") << cfg.dump();
  CHECK_THROWS_WITH_AS(load_cpu_backend(dir), doctest::Contains("has shape"), sgp::Error);
  cfg["hidden_size"] = 64;
  std::ofstream(dir + "/config.json") << cfg.dump();
  fs::resize_file(dir + "/model.safetensors", fs::file_size(dir + "/model.safetensors") - 4);
  CHECK_THROWS_WITH_AS(load_cpu_backend(dir), doctest::Contains("past the end"), sgp::Error);
  fs::remove(dir + "/model.safetensors");
  CHECK_THROWS_WITH_AS(load_cpu_backend(dir), doctest::Contains("no model.safetensors"),
                       sgp::Error);
  fs::remove_all(dir);
  CHECK_THROWS_WITH_AS(load_cpu_backend(dir), doctest::Contains("cannot open"), sgp::Error);
}

TEST_CASE(
    "formats: config.json rope settings from rope_scaling or Transformers 5 rope_parameters") {
  nlohmann::json base = {{"architectures", {"LlamaForCausalLM"}},
                         {"model_type", "llama"},
                         {"num_hidden_layers", 2},
                         {"hidden_size", 64},
                         {"num_attention_heads", 4},
                         {"intermediate_size", 128},
                         {"vocab_size", 100}};
  nlohmann::json v5 = base;
  v5["rope_parameters"] = {{"rope_type", "llama3"},   {"rope_theta", 500000.0},
                           {"factor", 8.0},           {"low_freq_factor", 1.0},
                           {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  sgp::model::ModelConfig c5 = sgp::model::config_from_hf(v5);
  CHECK(c5.rope_theta == doctest::Approx(500000.0f));
  CHECK(c5.rope_scaling.type == "llama3");
  CHECK(c5.rope_scaling.factor == doctest::Approx(8.0f));

  nlohmann::json v4 = base;
  v4["rope_theta"] = 250000.0;
  v4["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  sgp::model::ModelConfig c4 = sgp::model::config_from_hf(v4);
  CHECK(c4.rope_theta == doctest::Approx(250000.0f));
  CHECK(c4.rope_scaling.type == "linear");

  nlohmann::json plain = base;
  CHECK(sgp::model::config_from_hf(plain).rope_theta == doctest::Approx(10000.0f));
  CHECK(sgp::model::config_from_hf(plain).rope_scaling.type.empty());

  // Numbers no float holds and fields of the wrong type are clear errors, never a conversion
  // with undefined behaviour or a JSON library exception.
  nlohmann::json huge = base;
  huge["rope_theta"] = 1e300;
  CHECK_THROWS_WITH_AS(sgp::model::config_from_hf(huge), doctest::Contains("'rope_theta'"),
                       sgp::Error);
  nlohmann::json huge_factor = v5;
  huge_factor["rope_parameters"]["factor"] = -1e49;
  CHECK_THROWS_WITH_AS(sgp::model::config_from_hf(huge_factor), doctest::Contains("'factor'"),
                       sgp::Error);
  nlohmann::json wrong_type = base;
  wrong_type["tie_word_embeddings"] = "yes";
  CHECK_THROWS_WITH_AS(sgp::model::config_from_hf(wrong_type),
                       doctest::Contains("unexpected structure"), sgp::Error);
}
