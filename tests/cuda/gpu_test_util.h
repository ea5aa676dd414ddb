// Helpers for GPU tests: random host data, device transfers, and dumps read by
// tools/ref_cuda_kernels.py.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "model/model_config.h"

namespace sgp::cuda::test {

// Fresh inputs on every run; the seed is printed so a failure can be replayed.
inline std::mt19937_64& rng() {
  static std::mt19937_64 gen = [] {
    const char* s = std::getenv("SGP_TEST_SEED");
    const uint64_t seed = s ? std::strtoull(s, nullptr, 10) : std::random_device{}();
    std::printf("random seed %llu\n", static_cast<unsigned long long>(seed));
    return std::mt19937_64(seed);
  }();
  return gen;
}

inline std::vector<float> randn(size_t n, float scale = 1.f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

inline std::vector<__nv_bfloat16> to_bf16(const std::vector<float>& v) {
  std::vector<__nv_bfloat16> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = __float2bfloat16(v[i]);
  return r;
}

inline std::vector<float> to_f32(const std::vector<__nv_bfloat16>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = __bfloat162float(v[i]);
  return r;
}

template <class T>
DeviceBuffer<T> upload(const std::vector<T>& v) {
  DeviceBuffer<T> b(v.size());
  SGP_CUDA_CHECK(cudaMemcpy(b.data(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return b;
}

template <class T>
std::vector<T> download(const DeviceBuffer<T>& b) {
  SGP_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<T> v(b.size());
  SGP_CUDA_CHECK(cudaMemcpy(v.data(), b.data(), b.bytes(), cudaMemcpyDeviceToHost));
  return v;
}

// Poison: a NaN bit pattern, so an unwritten output element can never pass a comparison.
template <class T>
void poison(DeviceBuffer<T>& b) {
  SGP_CUDA_CHECK(cudaMemset(b.data(), 0xff, b.bytes()));
}

// One file per case: records of [u32 name_len][name][u32 dtype 0=f32 1=bf16 2=i32][u32 ndim]
// [i64 dims...][raw data]. Written only when SGP_CUDA_DUMP names a folder.
class Dump {
 public:
  explicit Dump(const std::string& name) {
    const char* dir = std::getenv("SGP_CUDA_DUMP");
    if (dir) f_ = std::fopen((std::string(dir) + "/" + name + ".bin").c_str(), "wb");
  }
  ~Dump() {
    if (f_) std::fclose(f_);
  }
  void add(const std::string& name, const std::vector<float>& v, std::vector<int64_t> dims) {
    write(name, 0, dims, v.data(), v.size() * 4);
  }
  void add(const std::string& name, const std::vector<__nv_bfloat16>& v,
           std::vector<int64_t> dims) {
    write(name, 1, dims, v.data(), v.size() * 2);
  }
  void add(const std::string& name, const std::vector<int>& v, std::vector<int64_t> dims) {
    write(name, 2, dims, v.data(), v.size() * 4);
  }

 private:
  void write(const std::string& name, uint32_t dtype, const std::vector<int64_t>& dims,
             const void* data, size_t bytes) {
    if (!f_) return;
    const uint32_t len = static_cast<uint32_t>(name.size()),
                   nd = static_cast<uint32_t>(dims.size());
    std::fwrite(&len, 4, 1, f_);
    std::fwrite(name.data(), 1, len, f_);
    std::fwrite(&dtype, 4, 1, f_);
    std::fwrite(&nd, 4, 1, f_);
    std::fwrite(dims.data(), 8, nd, f_);
    std::fwrite(data, 1, bytes, f_);
  }
  std::FILE* f_ = nullptr;
};

// The prompts, HF greedy continuations and HF fp32 logits written by tools/ref_cuda_hf.py.
struct HfCase {
  int n_gen = 0;
  std::vector<std::vector<int32_t>> prompts, greedy;
  std::vector<float> logits;  // [prompt][step][vocab]
};

inline HfCase read_hf_case(const std::string& dir, int n_vocab) {
  HfCase c;
  std::ifstream pin(dir + "/prompts.bin", std::ios::binary);
  std::ifstream lin(dir + "/ref_logits.bin", std::ios::binary);
  if (!pin || !lin) throw std::runtime_error("missing prompts.bin / ref_logits.bin in " + dir);
  int32_t n_prompts = 0;
  pin.read(reinterpret_cast<char*>(&n_prompts), 4);
  pin.read(reinterpret_cast<char*>(&c.n_gen), 4);
  c.prompts.resize(n_prompts);
  c.greedy.resize(n_prompts);
  for (int i = 0; i < n_prompts; ++i) {
    int32_t len = 0;
    pin.read(reinterpret_cast<char*>(&len), 4);
    c.prompts[i].resize(len);
    c.greedy[i].resize(c.n_gen);
    pin.read(reinterpret_cast<char*>(c.prompts[i].data()), 4 * len);
    pin.read(reinterpret_cast<char*>(c.greedy[i].data()), 4 * c.n_gen);
  }
  c.logits.resize(static_cast<size_t>(n_prompts) * c.n_gen * n_vocab);
  lin.read(reinterpret_cast<char*>(c.logits.data()), c.logits.size() * 4);
  if (!pin || lin.gcount() != static_cast<std::streamsize>(c.logits.size() * 4))
    throw std::runtime_error("truncated reference files in " + dir);
  return c;
}

inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!(x == x) || x > 3e38f || x < -3e38f) return false;
  return true;
}

// The small Llama-shaped model the engine-level GPU tests run (vocabulary 2048 for the
// synthetic tokenizer, GQA 4/2 heads of 64).
inline model::ModelConfig engine_config() {
  model::ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 2048;
  c.n_embd = 256;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 64;
  c.n_ff = 512;
  c.rope_theta = 10000.f;
  return c;
}

}  // namespace sgp::cuda::test
