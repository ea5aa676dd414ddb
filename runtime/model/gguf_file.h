// GgufFile: a memory-mapped GGUF v2/v3 file — metadata key/values and tensor descriptors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sgp::model {

// GGML tensor types we know by number (values fixed by the GGUF format).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};
const char* ggml_type_name(uint32_t type);  // "Q4_1", or "type 17" for unknown numbers

// One metadata value. Arrays hold one vector of the element type.
struct GgufValue {
  using Array = std::variant<std::vector<int64_t>, std::vector<double>, std::vector<std::string>,
                             std::vector<bool>>;
  std::variant<int64_t, double, bool, std::string, Array> v;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;      // GGUF order: dims[0] is the contiguous (row) dimension
  uint32_t type = 0;              // GgmlType number
  uint64_t offset = 0;            // from the start of the data section
  const uint8_t* data = nullptr;  // into the mapping
  size_t n_bytes = 0;
  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Maps and validates the file; throws sgp::Error naming the problem (truncated, bad magic,
  // lying sizes/offsets, unsupported version). Never allocates more than the file justifies.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  ~GgufFile();

  uint32_t version() const { return version_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: throw sgp::Error if missing (no default) or of the wrong type.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, std::string def) const;
  int64_t get_int(std::string_view key) const;
  int64_t get_int(std::string_view key, int64_t def) const;
  double get_float(std::string_view key) const;
  double get_float(std::string_view key, double def) const;
  const std::vector<std::string>& get_strings(std::string_view key) const;
  const std::vector<int64_t>& get_ints(std::string_view key) const;
  const std::vector<double>& get_floats(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(std::string_view name) const;
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const std::string& path() const { return path_; }

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace sgp::model
