// GgufWriter: builds small GGUF files byte by byte for tests (including deliberately broken ones).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace sgp::test {

class GgufWriter {
 public:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::vector<uint8_t> data;
  };

  uint32_t version = 3;
  uint32_t alignment = 32;
  std::vector<uint8_t> kv;  // encoded metadata entries
  uint64_t n_kv = 0;
  std::vector<Tensor> tensors;

  template <typename T>
  static void put(std::vector<uint8_t>& b, T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
  }
  static void put_str(std::vector<uint8_t>& b, const std::string& s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
  }

  void add_u32(const std::string& k, uint32_t v) { key(k, 4), put(kv, v); }
  void add_i32(const std::string& k, int32_t v) { key(k, 5), put(kv, v); }
  void add_f32(const std::string& k, float v) { key(k, 6), put(kv, v); }
  void add_bool(const std::string& k, bool v) { key(k, 7), put<uint8_t>(kv, v); }
  void add_str(const std::string& k, const std::string& v) { key(k, 8), put_str(kv, v); }
  void add_u64(const std::string& k, uint64_t v) { key(k, 10), put(kv, v); }
  void add_f64(const std::string& k, double v) { key(k, 12), put(kv, v); }
  void add_strs(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9), put<uint32_t>(kv, 8), put<uint64_t>(kv, v.size());
    for (const auto& s : v) put_str(kv, s);
  }
  void add_i32s(const std::string& k, const std::vector<int32_t>& v) {
    key(k, 9), put<uint32_t>(kv, 5), put<uint64_t>(kv, v.size());
    for (int32_t x : v) put(kv, x);
  }
  void add_f32s(const std::string& k, const std::vector<float>& v) {
    key(k, 9), put<uint32_t>(kv, 6), put<uint64_t>(kv, v.size());
    for (float x : v) put(kv, x);
  }
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                  std::vector<uint8_t> data) {
    tensors.push_back({name, std::move(dims), type, std::move(data)});
  }

  // The whole file; tensor data is laid out in order, each aligned.
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b;
    put<uint32_t>(b, 0x46554747);  // "GGUF"
    put(b, version);
    put<uint64_t>(b, tensors.size());
    put<uint64_t>(b, n_kv);
    b.insert(b.end(), kv.begin(), kv.end());
    uint64_t off = 0;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors) {
      put_str(b, t.name);
      put<uint32_t>(b, t.dims.size());
      for (uint64_t d : t.dims) put(b, d);
      put(b, t.type);
      put(b, off);
      offsets.push_back(off);
      off = (off + t.data.size() + alignment - 1) / alignment * alignment;
    }
    size_t start = (b.size() + alignment - 1) / alignment * alignment;
    b.resize(start, 0);
    for (size_t i = 0; i < tensors.size(); ++i) {
      b.resize(start + offsets[i], 0);
      b.insert(b.end(), tensors[i].data.begin(), tensors[i].data.end());
    }
    return b;
  }

  static void write_file(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }

 private:
  void key(const std::string& k, uint32_t type) {
    put_str(kv, k);
    put(kv, type);
    ++n_kv;
  }
};

}  // namespace sgp::test
