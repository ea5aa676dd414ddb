// ModelConfig from GGUF metadata (llama.* / qwen2.* keys) or a Hugging Face config.json.
#include "model/model_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/gguf_file.h"
#include "sgp/error.h"

namespace sgp::model {
namespace {

// Rejects values no real model has, so later allocations stay bounded.
void validate(ModelConfig& c, const std::string& where) {
  auto bad = [&](const std::string& what) {
    throw Error(where + ": impossible model configuration: " + what);
  };
  if (c.n_layer <= 0 || c.n_layer > 1024) bad("layer count " + std::to_string(c.n_layer));
  if (c.n_embd <= 0 || c.n_embd > 65536) bad("embedding width " + std::to_string(c.n_embd));
  if (c.n_head <= 0 || c.n_head > 1024) bad("head count " + std::to_string(c.n_head));
  if (c.n_head_kv <= 0) c.n_head_kv = c.n_head;
  if (c.n_head % c.n_head_kv != 0) {
    bad(std::to_string(c.n_head) + " heads do not split into " + std::to_string(c.n_head_kv) +
        " KV groups");
  }
  if (c.head_dim <= 0) {
    if (c.n_embd % c.n_head != 0) bad("width not divisible by the head count");
    c.head_dim = c.n_embd / c.n_head;
  }
  if (c.head_dim % 2 != 0 || c.head_dim > 1024) bad("head dimension " + std::to_string(c.head_dim));
  if (c.n_ff <= 0 || c.n_ff > 1 << 20) bad("feed-forward width " + std::to_string(c.n_ff));
  if (c.n_vocab <= 0 || c.n_vocab > 1 << 24) bad("vocabulary size " + std::to_string(c.n_vocab));
  if (!(c.rms_eps > 0.0f) || !(c.rope_theta > 0.0f)) bad("rms epsilon or rope base");
  if (c.rope_scaling.type == "none") c.rope_scaling.type = "";
  if (!c.rope_scaling.type.empty() && c.rope_scaling.type != "linear" &&
      c.rope_scaling.type != "llama3") {
    throw Error(where + ": unsupported rope scaling '" + c.rope_scaling.type +
                "' (supported: linear, llama3)");
  }
  if (!(c.rope_scaling.factor > 0.0f)) bad("rope scaling factor");
  if (c.sliding_window < 0) bad("sliding window");
}

int to_int(int64_t v) {
  return v < 0 || v > (int64_t{1} << 30) ? -1 : static_cast<int>(v);
}

// A float64 value no float holds becomes NaN (converting it would be undefined behaviour);
// validate() then refuses it with the field's name.
float to_float(double v) {
  return std::fabs(v) <= 3.0e38 ? static_cast<float>(v) : std::nanf("");
}

}  // namespace

ModelConfig config_from_gguf(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.get_string("general.architecture");
  if (c.arch != "llama" && c.arch != "qwen2") {
    throw Error(f.path() + ": unsupported architecture '" + c.arch +
                "' (supported: llama, mistral and SmolLM2 as llama, qwen2)");
  }
  c.name = f.get_string("general.name", "");
  const std::string p = c.arch + ".";
  c.n_layer = to_int(f.get_int(p + "block_count"));
  c.n_embd = to_int(f.get_int(p + "embedding_length"));
  c.n_head = to_int(f.get_int(p + "attention.head_count"));
  c.n_head_kv = to_int(f.get_int(p + "attention.head_count_kv", c.n_head));
  c.head_dim = to_int(f.get_int(p + "attention.key_length", 0));
  c.n_ff = to_int(f.get_int(p + "feed_forward_length"));
  c.n_ctx_train = to_int(f.get_int(p + "context_length", 4096));
  c.rms_eps = to_float(f.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5));
  c.rope_theta = to_float(f.get_float(p + "rope.freq_base", 10000.0));
  c.rope_scaling.type = f.get_string(p + "rope.scaling.type", "");
  c.rope_scaling.factor = to_float(f.get_float(p + "rope.scaling.factor", 1.0));
  c.rope_scaling.original_max_position =
      to_int(f.get_int(p + "rope.scaling.original_context_length", c.n_ctx_train));
  const GgufTensorInfo* emb = f.tensor("token_embd.weight");
  if (emb == nullptr) throw Error(f.path() + ": missing tensor 'token_embd.weight'");
  int64_t vocab = emb->dims.size() == 2 ? emb->dims[1] : 0;
  c.n_vocab = to_int(f.get_int(p + "vocab_size", vocab));
  c.tied_embeddings = f.tensor("output.weight") == nullptr;
  c.qkv_bias = f.tensor("blk.0.attn_q.bias") != nullptr;
  c.sliding_window = to_int(f.get_int(p + "attention.sliding_window", 0));
  validate(c, f.path());
  return c;
}

namespace {

// A number field as float: `def` when absent; an error for a non-number or a value no float
// holds (converting one would be undefined behaviour).
float float_field(const nlohmann::json& obj, const char* key, float def) {
  if (!obj.contains(key) || obj[key].is_null()) return def;
  const nlohmann::json& v = obj[key];
  float f = v.is_number() ? to_float(v.get<double>()) : std::nanf("");
  if (std::isnan(f)) throw Error(std::string("config.json: '") + key + "' is not a usable number");
  return f;
}

ModelConfig read_config_fields(const nlohmann::json& j) {
  ModelConfig c;
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    arch = j["architectures"][0].get<std::string>();
  }
  if (arch == "LlamaForCausalLM" || arch == "MistralForCausalLM") {
    c.arch = "llama";
  } else if (arch == "Qwen2ForCausalLM") {
    c.arch = "qwen2";
    c.qkv_bias = true;
  } else {
    throw Error("config.json: unsupported architecture '" + arch +
                "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
  }
  auto num = [&](const char* key, double def, bool required) -> double {
    if (!j.contains(key) || j[key].is_null()) {
      if (required) throw Error(std::string("config.json: missing '") + key + "'");
      return def;
    }
    if (!j[key].is_number()) throw Error(std::string("config.json: '") + key + "' is not a number");
    return j[key].get<double>();
  };
  auto inum = [&](const char* key, double def, bool required) {
    double v = num(key, def, required);
    return v < 0 || v > (1 << 30) ? -1 : static_cast<int>(v);
  };
  c.name = j.value("_name_or_path", std::string());
  c.n_layer = inum("num_hidden_layers", 0, true);
  c.n_embd = inum("hidden_size", 0, true);
  c.n_head = inum("num_attention_heads", 0, true);
  c.n_head_kv = inum("num_key_value_heads", c.n_head, false);
  c.head_dim = inum("head_dim", 0, false);
  c.n_ff = inum("intermediate_size", 0, true);
  c.n_vocab = inum("vocab_size", 0, true);
  c.n_ctx_train = inum("max_position_embeddings", 4096, false);
  c.rms_eps = float_field(j, "rms_norm_eps", 1e-6f);
  c.rope_theta = float_field(j, "rope_theta", 10000.0f);
  c.tied_embeddings = j.value("tie_word_embeddings", false);
  // Mistral applies its window in every layer; Qwen2 configs carry a window that only counts
  // with use_sliding_window, and then only in some layers, which this backend does not do.
  if (arch == "MistralForCausalLM") c.sliding_window = inum("sliding_window", 0, false);
  if (arch == "Qwen2ForCausalLM" && j.contains("use_sliding_window") &&
      j["use_sliding_window"].is_boolean() && j["use_sliding_window"].get<bool>()) {
    throw Error(
        "config.json: Qwen2 with use_sliding_window is not supported (per-layer sliding windows)");
  }
  // Transformers 5 writes the rope base and scaling into one `rope_parameters` object; older
  // exports use a top-level `rope_theta` and a `rope_scaling` object.
  const char* rope_key =
      j.contains("rope_scaling") && j["rope_scaling"].is_object()         ? "rope_scaling"
      : j.contains("rope_parameters") && j["rope_parameters"].is_object() ? "rope_parameters"
                                                                          : nullptr;
  if (rope_key && !j.contains("rope_theta") && j[rope_key].contains("rope_theta")) {
    c.rope_theta = float_field(j[rope_key], "rope_theta", c.rope_theta);
  }
  if (rope_key) {
    const auto& r = j[rope_key];
    c.rope_scaling.type = r.value("rope_type", r.value("type", std::string()));
    if (c.rope_scaling.type == "default") c.rope_scaling.type = "";
    c.rope_scaling.factor = float_field(r, "factor", 1.0f);
    c.rope_scaling.low_freq_factor = float_field(r, "low_freq_factor", 1.0f);
    c.rope_scaling.high_freq_factor = float_field(r, "high_freq_factor", 4.0f);
    float max_pos = float_field(r, "original_max_position_embeddings", 8192.0f);
    c.rope_scaling.original_max_position =
        max_pos >= 0 && max_pos <= (1 << 30) ? static_cast<int>(max_pos) : -1;
  }
  return c;
}

}  // namespace

ModelConfig config_from_hf(const nlohmann::json& j) {
  ModelConfig c;
  try {
    c = read_config_fields(j);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
    throw Error(std::string("config.json: unexpected structure (") + e.what() + ")");
  }
  validate(c, "config.json");
  return c;
}

ModelConfig read_hf_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path cfg = fs::is_directory(path, ec) ? fs::path(path) / "config.json" : fs::path(path);
  std::ifstream in(cfg);
  if (!in) {
    throw Error(fs::is_directory(path, ec)
                    ? path + ": no config.json (not a Hugging Face model folder)"
                    : cfg.string() + ": cannot open");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cfg.string() + ": " + e.what());
  }
  return config_from_hf(j);
}

}  // namespace sgp::model
