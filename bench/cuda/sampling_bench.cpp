// Device sampling time per batch of logits rows (kernels/cuda/sampling.cu): 256 rows of a
// 128256-token vocabulary (Llama 3), each sampling mode on its own; median of 30 launches.
// Usage: sampling_bench [out.json]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/sampling.h"

using namespace sgp;

int main(int argc, char** argv) {
  const int vocab = 128256, rows = 256;
  std::mt19937_64 g(1);
  std::normal_distribution<float> n01(0.f, 1.f);
  std::vector<float> logits(static_cast<size_t>(rows) * vocab);
  // Roughly an LM's shape: a broad bulk and a few tokens well above it.
  for (auto& x : logits) x = 2.5f * n01(g);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < 8; ++k)
      logits[static_cast<size_t>(r) * vocab + g() % vocab] = 12.0f + 2.0f * n01(g);
  cuda::DeviceBuffer<float> d_logits(logits.size());
  SGP_CUDA_CHECK(
      cudaMemcpy(d_logits.data(), logits.data(), logits.size() * 4, cudaMemcpyHostToDevice));

  struct Mode {
    std::string name;
    std::function<void(model::RowSample&)> set;
  };
  std::vector<Mode> modes = {
      {"greedy", [](model::RowSample& s) { s.temperature = 0.0f; }},
      {"temperature", [](model::RowSample&) {}},
      {"min_p", [](model::RowSample& s) { s.min_p = 0.05f; }},
      {"top_k50", [](model::RowSample& s) { s.top_k = 50; }},
      {"top_p0.9", [](model::RowSample& s) { s.top_p = 0.9f; }},
      {"top_k50_top_p0.9", [](model::RowSample& s) { s.top_k = 50, s.top_p = 0.9f; }},
      {"top_p0.99_t1.5", [](model::RowSample& s) { s.top_p = 0.99f, s.temperature = 1.5f; }},
      {"top_k4000", [](model::RowSample& s) { s.top_k = 4000; }},
      {"top_k20000", [](model::RowSample& s) { s.top_k = 20000; }},
      {"penalties",
       [](model::RowSample& s) {
         s.repetition_penalty = 1.1f, s.frequency_penalty = 0.3f;
         for (int t = 0; t < 1500; ++t) s.penalized.push_back({t * 83, t % 3});
       }},
      {"regex_mask",
       [vocab](model::RowSample& s) {
         s.allowed.assign((vocab + 63) / 64, 0x00ff00ff00ff00ffull);
         s.also_allowed = {128001};
       }},
      {"logprobs5", [](model::RowSample& s) { s.logprobs = 5; }},
      {"logprobs20_top_p0.9", [](model::RowSample& s) { s.logprobs = 20, s.top_p = 0.9f; }},
  };
  cudaStream_t stream;
  SGP_CUDA_CHECK(cudaStreamCreate(&stream));
  cudaEvent_t a, b;
  SGP_CUDA_CHECK(cudaEventCreate(&a));
  SGP_CUDA_CHECK(cudaEventCreate(&b));
  std::string json = "{\n  \"vocab\": 128256, \"rows\": 256, \"ms\": {";
  cuda::DeviceSampler sampler;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (size_t m = 0; m < modes.size(); ++m) {
    cuda::DrawBatch batch;
    for (int r = 0; r < rows; ++r) {
      model::RowSample s;
      s.temperature = 1.0f;
      s.u = u01(g);
      modes[m].set(s);
      batch.add(r, s, vocab);
    }
    std::vector<float> ms;
    for (int it = 0; it < 33; ++it) {
      SGP_CUDA_CHECK(cudaEventRecord(a, stream));
      sampler.launch(d_logits.data(), vocab, batch, stream);
      SGP_CUDA_CHECK(cudaEventRecord(b, stream));
      SGP_CUDA_CHECK(cudaStreamSynchronize(stream));
      float t = 0;
      SGP_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
      if (it >= 3) ms.push_back(t);  // warm-up
    }
    std::sort(ms.begin(), ms.end());
    const float med = ms[ms.size() / 2];
    std::printf("%-22s %8.3f ms per %d rows (upload, kernel, results copy)\n",
                modes[m].name.c_str(), med, rows);
    json += (m ? ",\n    \"" : "\n    \"") + modes[m].name + "\": " + std::to_string(med);
  }
  json += "\n  }\n}\n";
  if (argc > 1) std::ofstream(argv[1]) << json;
  return 0;
}
