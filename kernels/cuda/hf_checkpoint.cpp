// Reading config.json and safetensors files (header validated against the file size).
#include "kernels/cuda/hf_checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sgp/error.h"

namespace sgp::cuda {
namespace {

using nlohmann::json;

size_t dtype_size(const std::string& dtype) {
  if (dtype == "BF16" || dtype == "F16") return 2;
  if (dtype == "F32") return 4;
  return 0;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = man;
      do {
        m <<= 1;
        ++e;
      } while ((m & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

template <class T>
T value_or(const json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  return it->get<T>();
}

model::ModelConfig parse_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  model::ModelConfig c;
  try {
    const std::string type = value_or<std::string>(j, "model_type", "llama");
    if (type != "llama" && type != "mistral" && type != "qwen2")
      throw Error(path + ": model_type '" + type + "' is not supported (llama, mistral, qwen2)");
    c.arch = type == "qwen2" ? "qwen2" : "llama";
    c.qkv_bias = type == "qwen2";
    c.name = value_or<std::string>(j, "_name_or_path", "");
    c.n_vocab = j.at("vocab_size").get<int>();
    c.n_embd = j.at("hidden_size").get<int>();
    c.n_layer = j.at("num_hidden_layers").get<int>();
    c.n_head = j.at("num_attention_heads").get<int>();
    c.n_head_kv = value_or<int>(j, "num_key_value_heads", c.n_head);
    c.head_dim = value_or<int>(j, "head_dim", c.n_head > 0 ? c.n_embd / c.n_head : 0);
    c.n_ff = j.at("intermediate_size").get<int>();
    c.n_ctx_train = value_or<int>(j, "max_position_embeddings", 0);
    c.rms_eps = value_or<float>(j, "rms_norm_eps", 1e-5f);
    c.tied_embeddings = value_or<bool>(j, "tie_word_embeddings", false);
    // Transformers 5 nests RoPE settings under rope_parameters; older files use rope_scaling.
    json rope =
        j.contains("rope_parameters") && j["rope_parameters"].is_object()
            ? j["rope_parameters"]
            : (j.contains("rope_scaling") && j["rope_scaling"].is_object() ? j["rope_scaling"]
                                                                           : json::object());
    c.rope_theta = value_or<float>(rope, "rope_theta", value_or<float>(j, "rope_theta", 10000.f));
    std::string rtype =
        value_or<std::string>(rope, "rope_type", value_or<std::string>(rope, "type", ""));
    if (rtype == "default") rtype = "";
    if (!rtype.empty() && rtype != "llama3" && rtype != "linear")
      throw Error(path + ": rope type '" + rtype + "' is not supported (llama3, linear)");
    c.rope_scaling.type = rtype;
    c.rope_scaling.factor = value_or<float>(rope, "factor", 1.f);
    c.rope_scaling.low_freq_factor = value_or<float>(rope, "low_freq_factor", 1.f);
    c.rope_scaling.high_freq_factor = value_or<float>(rope, "high_freq_factor", 4.f);
    c.rope_scaling.original_max_position =
        value_or<int>(rope, "original_max_position_embeddings", 8192);
  } catch (const json::exception& e) {
    throw Error(path + ": " + e.what());
  }
  if (c.n_vocab <= 0 || c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 ||
      c.head_dim <= 0 || c.n_ff <= 0 || c.n_head % c.n_head_kv != 0)
    throw Error(path + ": inconsistent model dimensions");
  return c;
}

}  // namespace

int64_t HfTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  std::unique_ptr<HfCheckpoint> ck(new HfCheckpoint);
  ck->config_ = parse_config((fs::path(dir) / "config.json").string());
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  if (ec || files.empty()) throw Error(dir + ": no .safetensors files");
  std::sort(files.begin(), files.end());
  for (const auto& f : files) ck->map_file(f);
  return ck;
}

HfCheckpoint::~HfCheckpoint() {
  for (auto& m : maps_) munmap(m.addr, m.size);
}

void HfCheckpoint::map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open " + path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < 8) {
    ::close(fd);
    throw Error(path + ": too short for a safetensors file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (addr == MAP_FAILED) throw Error("cannot map " + path);
  maps_.push_back({addr, size});
  const auto* base = static_cast<const uint8_t*>(addr);
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);
  if (header_len > size - 8) throw Error(path + ": header length exceeds the file");
  json header;
  try {
    header = json::parse(base + 8, base + 8 + header_len);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid safetensors header: " + e.what());
  }
  const uint8_t* data = base + 8 + header_len;
  const size_t data_size = size - 8 - header_len;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      HfTensor t;
      t.dtype = it->at("dtype").get<std::string>();
      t.shape = it->at("shape").get<std::vector<int64_t>>();
      const auto off = it->at("data_offsets").get<std::vector<uint64_t>>();
      if (off.size() != 2 || off[0] > off[1] || off[1] > data_size)
        throw Error(path + ": tensor " + it.key() + " lies outside the file");
      t.data = data + off[0];
      t.n_bytes = off[1] - off[0];
      const size_t es = dtype_size(t.dtype);
      for (int64_t d : t.shape)
        if (d < 0) throw Error(path + ": tensor " + it.key() + " has a negative dimension");
      if (es != 0 && static_cast<uint64_t>(t.n_elements()) * es != t.n_bytes)
        throw Error(path + ": tensor " + it.key() + " size does not match its shape");
      tensors_[it.key()] = std::move(t);
    }
  } catch (const json::exception& e) {
    throw Error(path + ": malformed safetensors header: " + e.what());
  }
}

const HfTensor* HfCheckpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const HfTensor& HfCheckpoint::get(const std::string& name, std::vector<int64_t> shape) const {
  const HfTensor* t = find(name);
  if (!t) throw Error("checkpoint has no tensor " + name);
  if (dtype_size(t->dtype) == 0)
    throw Error("tensor " + name + " has unsupported dtype " + t->dtype + " (BF16, F16, F32)");
  if (t->shape != shape) throw Error("tensor " + name + " has an unexpected shape");
  return *t;
}

void to_bf16(const HfTensor& t, uint16_t* out) {
  const size_t n = static_cast<size_t>(t.n_elements());
  if (t.dtype == "BF16") {
    std::memcpy(out, t.data, n * 2);
  } else if (t.dtype == "F16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = float_to_bf16(half_to_float(h));
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, t.data + 4 * i, 4);
      out[i] = float_to_bf16(f);
    }
  }
}

}  // namespace sgp::cuda
