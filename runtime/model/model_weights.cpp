// load_weights: finds each tensor by its GGUF or Hugging Face name and checks its shape and type.
#include "model/model_weights.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "kernels/cpu/dequant.h"
#include "kernels/cpu/ggml_types.h"
#include "sgp/error.h"

namespace sgp::model {
namespace {

namespace fs = std::filesystem;
using Lookup = std::function<const GgufTensorInfo*(const std::string&)>;

struct Loader {
  std::string where;
  Lookup find;

  const GgufTensorInfo& get(const std::string& name) const {
    const GgufTensorInfo* t = find(name);
    if (t == nullptr) throw Error(where + ": missing tensor '" + name + "'");
    return *t;
  }
  kernels::WeightView matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensorInfo& t = get(name);
    if (t.dims.size() != 2 || t.dims[0] != cols || t.dims[1] != rows) {
      std::string got;
      for (size_t i = 0; i < t.dims.size(); ++i) {
        if (i > 0) got += 'x';
        got += std::to_string(t.dims[i]);
      }
      throw Error(where + ": tensor '" + name + "' has shape " + got + ", expected " +
                  std::to_string(cols) + "x" + std::to_string(rows));
    }
    kernels::require_supported(t.type, ("tensor '" + name + "'").c_str());
    if (cols % 32 != 0)
      throw Error(where + ": tensor '" + name + "' width is not a multiple of 32");
    kernels::WeightView w;
    w.type = t.type;
    w.rows = rows;
    w.cols = cols;
    w.data = t.data;
    w.row_bytes = kernels::row_bytes(t.type, cols);
    return w;
  }
  std::vector<float> vec(const std::string& name, int64_t n) const {
    const GgufTensorInfo& t = get(name);
    if (t.n_elements() != n) {
      throw Error(where + ": tensor '" + name + "' has " + std::to_string(t.n_elements()) +
                  " elements, expected " + std::to_string(n));
    }
    kernels::require_supported(t.type, ("tensor '" + name + "'").c_str());
    std::vector<float> out(static_cast<size_t>(n));
    kernels::dequantize_row(t.type, t.data, out.data(), n);
    return out;
  }
};

// Tensor names of the two file families.
struct Names {
  std::string embd, out_norm, output;
  std::function<std::string(int, const char*)> layer;  // (layer, role) -> name
};

Names gguf_names() {
  return {"token_embd.weight", "output_norm.weight", "output.weight",
          [](int i, const char* role) { return "blk." + std::to_string(i) + "." + role; }};
}

Names hf_names() {
  static const std::map<std::string, std::string> roles = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"}};
  return {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
          [](int i, const char* role) {
            return "model.layers." + std::to_string(i) + "." + roles.at(role);
          }};
}

void load_tensors(ModelWeights& w, const Loader& L, const Names& n) {
  const ModelConfig& c = w.config;
  const int64_t d = c.n_embd, qd = int64_t{c.n_head} * c.head_dim,
                kvd = int64_t{c.n_head_kv} * c.head_dim, ff = c.n_ff;
  w.tok_embd = L.matrix(n.embd, c.n_vocab, d);
  w.output_norm = L.vec(n.out_norm, d);
  w.output = c.tied_embeddings ? w.tok_embd : L.matrix(n.output, c.n_vocab, d);
  w.layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    LayerWeights& l = w.layers[i];
    auto name = [&](const char* role) { return n.layer(i, role); };
    l.attn_norm = L.vec(name("attn_norm.weight"), d);
    l.ffn_norm = L.vec(name("ffn_norm.weight"), d);
    l.q = L.matrix(name("attn_q.weight"), qd, d);
    l.k = L.matrix(name("attn_k.weight"), kvd, d);
    l.v = L.matrix(name("attn_v.weight"), kvd, d);
    l.o = L.matrix(name("attn_output.weight"), d, qd);
    l.gate = L.matrix(name("ffn_gate.weight"), ff, d);
    l.up = L.matrix(name("ffn_up.weight"), ff, d);
    l.down = L.matrix(name("ffn_down.weight"), d, ff);
    if (c.qkv_bias) {
      l.q_bias = L.vec(name("attn_q.bias"), qd);
      l.k_bias = L.vec(name("attn_k.bias"), kvd);
      l.v_bias = L.vec(name("attn_v.bias"), kvd);
    }
  }
}

std::unique_ptr<ModelWeights> load_gguf(const std::string& path) {
  auto w = std::make_unique<ModelWeights>();
  w->gguf = GgufFile::open(path);
  const GgufFile& f = *w->gguf;
  w->config = config_from_gguf(f);
  w->file_bytes = fs::file_size(path);
  // llama.cpp's converter permutes llama Q/K rows for adjacent-pair rotation; qwen2 keeps halves.
  w->rope_interleaved = w->config.arch == "llama";
  Loader L{path, [&f](const std::string& n) { return f.tensor(n); }};
  if (f.tensor("rope_freqs.weight") != nullptr) {
    w->rope_freq_factors = L.vec("rope_freqs.weight", w->config.head_dim / 2);
  }
  load_tensors(*w, L, gguf_names());
  return w;
}

std::unique_ptr<ModelWeights> load_hf(const std::string& dir) {
  auto w = std::make_unique<ModelWeights>();
  w->config = read_hf_config(dir);
  std::vector<std::string> files;
  fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream is(index);
    nlohmann::json ij;
    try {
      ij = nlohmann::json::parse(is);
    } catch (const nlohmann::json::exception& e) {
      throw Error(index.string() + ": " + e.what());
    }
    if (!ij.contains("weight_map") || !ij["weight_map"].is_object()) {
      throw Error(index.string() + ": no weight_map");
    }
    for (const auto& [name, file] : ij["weight_map"].items()) {
      if (!file.is_string()) throw Error(index.string() + ": bad entry for '" + name + "'");
      std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos) throw Error(index.string() + ": bad shard '" + f + "'");
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    }
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    files.push_back("model.safetensors");
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  std::map<std::string, const GgufTensorInfo*> all;
  for (const auto& f : files) {
    w->safetensors.push_back(SafetensorsFile::open((fs::path(dir) / f).string()));
    w->file_bytes += fs::file_size(fs::path(dir) / f);
    for (const auto& t : w->safetensors.back()->tensors()) all[t.name] = &t;
  }
  Loader L{dir, [&all](const std::string& n) -> const GgufTensorInfo* {
             auto it = all.find(n);
             return it == all.end() ? nullptr : it->second;
           }};
  // Some tied checkpoints still ship lm_head; some untied configs omit the flag.
  if (!w->config.tied_embeddings && all.count("lm_head.weight") == 0)
    w->config.tied_embeddings = true;
  w->rope_interleaved = false;
  load_tensors(*w, L, hf_names());
  return w;
}

}  // namespace

std::unique_ptr<ModelWeights> load_weights(const std::string& path) {
  if (fs::is_directory(path)) return load_hf(path);
  return load_gguf(path);
}

}  // namespace sgp::model
