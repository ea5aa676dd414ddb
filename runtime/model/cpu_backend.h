// CpuBackend: the Llama-family forward over a ragged batch on the CPU, with paged float32 KV.
#pragma once

#include <memory>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/weight_arena.h"
#include "model/backend.h"
#include "model/model_weights.h"

namespace sgp::model {

class CpuBackend : public Backend {
 public:
  CpuBackend(std::unique_ptr<ModelWeights> weights, const CpuOptions& options);

  const ModelConfig& config() const override { return w_->config; }
  std::string name() const override { return "cpu"; }
  int page_size() const override { return page_size_; }
  size_t page_bytes() const override { return page_floats_ * sizeof(float); }
  void allocate_kv(int n_pages) override;
  void copy_page(int32_t src, int32_t dst, int n_slots) override;
  void forward(const ForwardBatch& batch, Logits& out) override;

  const ModelWeights& weights() const { return *w_; }
  int threads() const { return pool_.size(); }

 private:
  // Where one token's K (kv = 0) or V (kv = 1) of a layer lives.
  float* kv_slot(int32_t page, int layer, int kv, int slot) {
    return kv_.data() + static_cast<size_t>(page) * page_floats_ +
           (static_cast<size_t>(layer * 2 + kv) * page_size_ + slot) * kv_dim_;
  }
  void pack_weights();
  void validate(const ForwardBatch& batch) const;
  void attention(int layer, const ForwardBatch& batch);

  std::unique_ptr<ModelWeights> w_;
  kernels::WeightArena packed_;           // what the views' `packed` pointers point into
  const uint8_t* embd_packed_ = nullptr;  // the tied head's packed copy, if the source went
  std::vector<uint8_t> embd_row_;         // one embedding row unpacked from it
  kernels::ThreadPool pool_;
  kernels::Rope rope_;
  kernels::MatmulScratch mm_;
  int page_size_;
  int kv_dim_;
  size_t page_floats_;
  int n_pages_ = 0;
  std::vector<float> kv_;

  // Per-token activations of the current batch.
  std::vector<int32_t> tok_seq_, tok_pos_;
  std::vector<float> x_, xn_, q_, k_, v_, att_, gate_, up_, ff_, cos_, sin_;
  std::vector<std::vector<float>> scores_;       // per thread
  std::vector<std::vector<const float*>> rows_;  // per thread: K then V rows of one task
};

}  // namespace sgp::model
