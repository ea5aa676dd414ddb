// ModelConfig: the hyper-parameters of a Llama-family model, from GGUF metadata or config.json.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace sgp::model {

struct RopeScaling {
  std::string type;  // "" (none), "llama3", "linear"
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position = 8192;
};

struct ModelConfig {
  std::string arch;  // "llama" (Llama 2/3, Mistral, SmolLM2), "qwen2"
  std::string name;
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // usually n_embd / n_head
  int n_ff = 0;
  int n_ctx_train = 0;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;  // output head shares token_embd
  bool qkv_bias = false;         // Qwen2
  // Mistral: a token attends to itself and the sliding_window - 1 positions before it (0: all).
  int sliding_window = 0;
};

class GgufFile;
// Reads the hyper-parameters of a "llama" or "qwen2" GGUF; throws sgp::Error naming any other
// architecture or a missing / impossible value.
ModelConfig config_from_gguf(const GgufFile& f);
// Reads a Hugging Face config.json (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM).
ModelConfig config_from_hf(const nlohmann::json& j);
// Reads a config.json file, or the config.json inside a folder; throws sgp::Error naming the file
// when it is missing or not JSON.
ModelConfig read_hf_config(const std::string& path);

}  // namespace sgp::model
