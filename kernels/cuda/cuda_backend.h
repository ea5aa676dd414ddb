// CudaBackend: a Llama-family model in bf16 on one NVIDIA GPU, behind the model::Backend interface.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/decode_graph.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/future_tokens.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/kv_layout.h"
#include "kernels/cuda/phase_timer.h"
#include "kernels/cuda/pinned_buffer.h"
#include "kernels/cuda/sampling.h"
#include "model/backend.h"

namespace sgp::model {
struct ModelWeights;
}

namespace sgp::model {

struct CudaOptions {
  int device = 0;
  int page_size = 16;
};

// True when the CUDA runtime sees at least one GPU (false, never throwing, on machines without).
bool cuda_device_available();
// Opens a GGUF file (any type the CPU loader reads, dequantized to bf16) or a Hugging Face folder
// (config.json + *.safetensors, bf16/fp16/fp32) onto the GPU.
std::unique_ptr<Backend> load_cuda_backend(const std::string& path,
                                           const CudaOptions& options = {});
// The KV budget that fits beside the loaded weights: `utilization` of the device's memory, less
// what is in use already, less the activations of a step of `max_step_tokens` tokens and
// `max_rows` logits rows (and some slack). Throws sgp::Error when nothing is left.
size_t cuda_kv_budget(double utilization, int max_step_tokens, int max_rows,
                      const ModelConfig& config, int device = 0);
// A model of any Llama shape with seeded random weights, built on the GPU (for benchmarks).
std::unique_ptr<Backend> make_random_cuda_backend(const ModelConfig& config, uint64_t seed,
                                                  const CudaOptions& options = {});

}  // namespace sgp::model

namespace sgp::cuda {

using bf16 = __nv_bfloat16;

struct LayerWeights {
  bf16* attn_norm = nullptr;
  bf16* wqkv = nullptr;  // [(n_head + 2 n_head_kv) * head_dim, n_embd]: q, k, v rows stacked
  bf16* bqkv = nullptr;  // Qwen2 only
  bf16* wo = nullptr;    // [n_embd, n_head * head_dim]
  bf16* ffn_norm = nullptr;
  bf16* wgu = nullptr;    // [2 n_ff, n_embd]: gate rows, then up rows
  bf16* wdown = nullptr;  // [n_embd, n_ff]
};

class CudaBackend : public model::Backend {
 public:
  CudaBackend(const model::ModelConfig& config, const model::CudaOptions& options, bool neox_rope);
  ~CudaBackend() override;

  const model::ModelConfig& config() const override { return config_; }
  std::string name() const override { return "cuda"; }
  int page_size() const override { return layout_.page_size; }
  size_t page_bytes() const override { return layout_.page_bytes(); }
  void allocate_kv(int n_pages) override;
  void copy_page(int32_t src, int32_t dst, int n_slots) override;
  void forward(const model::ForwardBatch& batch, model::Logits& out) override;
  // launch() queues the whole step - forward, draws, scores and the copies of the results to
  // pinned host memory - and returns without waiting for the GPU (unless whole logits rows come
  // back: those are copied before it returns); collect() waits for the oldest step's results.
  void launch(const model::ForwardBatch& batch) override;
  void collect(model::Logits& out) override;
  bool overlaps() const override { return overlap_; }
  // On by default. Off: the engine runs its steps one after the other
  // (SeqChunk::input_from_prev_row refused).
  void set_overlap(bool on) { overlap_ = on; }
  bool samples_on_device() const override { return device_sampling_; }
  bool scores_on_device() const override { return device_sampling_; }
  // Off: every logits row comes back whole and the engine samples and scores on the host.
  void set_device_sampling(bool on) { device_sampling_ = on; }

  // The forward without the copy to the host: logits stay in device_logits() as [rows, n_vocab]
  // fp32. Returns the row count. Asynchronous on stream().
  int forward_device(const model::ForwardBatch& batch);
  const float* device_logits() const { return logits_.data(); }
  cudaStream_t stream() const { return stream_; }
  size_t weight_bytes() const { return arena_.bytes(); }
  int n_pages() const { return n_pages_; }
  bf16* kv_pool() const { return kv_.data(); }
  const KvLayout& kv_layout() const { return layout_; }
  // Decode-sized products use the GEMV kernel unless this is off (benchmarks compare both).
  void set_skinny_gemm(bool on) { gemm_->set_skinny(on); }
  // Prefill chunks use the tensor-core kernel unless this is off (tests compare both paths).
  void set_tensor_core_prefill(bool on) { tc_prefill_ = on; }
  // Decode-only batches (one token per sequence, last logits row) of up to 256 sequences replay
  // a CUDA graph of their padded batch-size bucket unless this is off (SGP_CUDA_GRAPHS=0).
  void set_cuda_graphs(bool on) {
    graphs_->set_mode(on ? DecodeGraphMode::Graph : DecodeGraphMode::Off);
  }
  void set_decode_graph_mode(DecodeGraphMode m) { graphs_->set_mode(m); }
  DecodeGraphMode decode_graph_mode() const { return graphs_->mode(); }
  const DecodeGraphStats& cuda_graph_stats() const { return graphs_->stats(); }

  // Construction helpers for the factories.
  void fill_random(uint64_t seed);
  void load_weights(const model::ModelWeights& weights);

 private:
  void allocate_weights();
  void validate(const model::ForwardBatch& batch) const;
  // Queues the copy of the inputs named by SeqChunk::input_from_prev_row from the previous
  // launch's draws into `tokens`, the step's token array on the device (batch order).
  void resolve_inputs(const model::ForwardBatch& batch, int* tokens);
  // Every kernel of a forward, launched on stream_ from a plan whose index arrays are on the
  // device already (no host sync): eager steps and graph capture run the same code.
  friend class DecodeGraphs;
  void reserve_activations(const ForwardPlan& p);
  int launch_forward(const ForwardPlan& p);
  // What a captured graph depends on: the activation, logits and KV addresses, the scratch page,
  // the GEMM dispatch, and the staging buffer it reads.
  std::vector<uintptr_t> graph_key(const void* staging) const;
  int scratch_page() const { return n_pages_; }  // the pool's page beyond the engine's
  int multiprocessors() const { return n_sms_; }

  model::ModelConfig config_;
  KvLayout layout_;
  bool neox_ = true;
  bool tc_prefill_ = true;
  bool device_sampling_ = true;
  PhaseTimer prof_;  // SGP_CUDA_PROFILE=1: GPU time per phase, printed at destruction
  int n_sms_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Gemm> gemm_;

  DeviceBuffer<bf16> arena_;
  bf16* embed_ = nullptr;
  bf16* out_norm_ = nullptr;
  bf16* lm_head_ = nullptr;
  std::vector<LayerWeights> layers_;
  DeviceBuffer<float> inv_freq_;

  DeviceBuffer<bf16> kv_;
  int n_pages_ = 0;

  // Batch indices staged in pinned memory, copied in one transfer per forward.
  int* meta_host_ = nullptr;
  size_t meta_cap_ = 0;
  cudaEvent_t meta_free_ = nullptr;
  DeviceBuffer<int> meta_dev_;

  DeviceBuffer<float> x_, part_acc_, part_ml_, logits_;
  DeviceBuffer<float2> cos_sin_;
  // A launched step's draws and results on their way to the host. Two, used in turn: a step
  // may be launched before the previous one is collected, and read that one's drawn tokens.
  struct StepSlot {
    StepSlot() = default;
    StepSlot(const StepSlot&) = delete;
    StepSlot& operator=(const StepSlot&) = delete;
    ~StepSlot() {
      if (done) cudaEventDestroy(done);
    }
    int rows = 0;
    DrawBatch draws;
    DeviceSampler sampler;
    std::vector<int> row_draw;  // logits row -> index of its draw (-1: not drawn on the device)
    std::vector<RowTarget> targets;
    PinnedBuffer<RowTarget> targets_in;
    PinnedBuffer<float> target_lp;
    bool whole = false;                 // some rows come back whole, in `data`
    std::vector<float> data;            // [rows, n_vocab]
    PinnedBuffer<FutureToken> futures;  // inputs read from the previous step's draws
    cudaEvent_t done = nullptr;         // every result is on the host
  };
  StepSlot slots_[2];
  uint64_t launched_ = 0, collected_ = 0;
  bool overlap_ = true;  // SGP_OVERLAP=0 turns it off
  DeviceBuffer<FutureToken> futures_;
  DeviceBuffer<RowTarget> targets_;
  DeviceBuffer<float> target_lp_;
  DeviceBuffer<bf16> h_, qkv_, q_, attn_, delta_, gu_, act_, rows_h_;
  std::unique_ptr<DecodeGraphs> graphs_;
};

}  // namespace sgp::cuda
