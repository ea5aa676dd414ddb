// HfCheckpoint: a Hugging Face model folder (config.json + *.safetensors), memory-mapped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace sgp::cuda {

struct HfTensor {
  std::string dtype;  // "BF16", "F16", "F32"
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  int64_t n_elements() const;
};

class HfCheckpoint {
 public:
  // Throws sgp::Error naming the file and the problem (missing, truncated, lying header).
  static std::unique_ptr<HfCheckpoint> open(const std::string& dir);
  ~HfCheckpoint();
  HfCheckpoint(const HfCheckpoint&) = delete;
  HfCheckpoint& operator=(const HfCheckpoint&) = delete;

  const model::ModelConfig& config() const { return config_; }
  const HfTensor* find(const std::string& name) const;
  // Throws unless the tensor exists with exactly this shape.
  const HfTensor& get(const std::string& name, std::vector<int64_t> shape) const;

 private:
  HfCheckpoint() = default;
  void map_file(const std::string& path);
  struct Mapping {
    void* addr = nullptr;
    size_t size = 0;
  };
  model::ModelConfig config_;
  std::vector<Mapping> maps_;
  std::map<std::string, HfTensor> tensors_;
};

// Converts n elements of a BF16/F16/F32 tensor to bf16 bits.
void to_bf16(const HfTensor& t, uint16_t* out);

}  // namespace sgp::cuda
