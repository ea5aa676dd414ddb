// SafetensorsFile: a memory-mapped .safetensors file (F32 / F16 / BF16 tensors) with a validated
// header.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf_file.h"

namespace sgp::model {

class SafetensorsFile {
 public:
  // Throws sgp::Error for a truncated or corrupt file, offsets past its end, or an unknown dtype.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();

  // Tensors described like GGUF ones: dims reversed (dims[0] contiguous), GGML type numbers.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(std::string_view name) const;
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace sgp::model
