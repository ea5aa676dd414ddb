// ModelWeights: config plus views of every weight of a Llama-family model, mapped from its files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "model/gguf_file.h"
#include "model/model_config.h"
#include "model/safetensors_file.h"

namespace sgp::model {

struct LayerWeights {
  kernels::WeightView q, k, v, o, gate, up, down;
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> q_bias, k_bias, v_bias;  // Qwen2 only
};

struct ModelWeights {
  ModelConfig config;
  // GGUF llama files store Q/K rows permuted for adjacent-pair rotation; HF files use halves.
  bool rope_interleaved = false;
  std::vector<float> rope_freq_factors;
  kernels::WeightView tok_embd, output;  // output aliases tok_embd when tied
  std::vector<float> output_norm;
  std::vector<LayerWeights> layers;
  size_t file_bytes = 0;  // bytes of the model file(s)

  // The mappings the views point into.
  std::unique_ptr<GgufFile> gguf;
  std::vector<std::unique_ptr<SafetensorsFile>> safetensors;
};

// Loads a .gguf file or a Hugging Face folder (config.json + model.safetensors or
// model.safetensors.index.json shards). Weights stay mapped; only 1-D vectors are copied.
std::unique_ptr<ModelWeights> load_weights(const std::string& path);

}  // namespace sgp::model
