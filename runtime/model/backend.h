// Backend: one loaded model on one device (CPU or CUDA), owning its weights and KV page storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/forward_batch.h"
#include "model/model_config.h"

namespace sgp::model {

// The engine (scheduler, radix cache, sampler) is shared; backends differ only here.
// KV page *ids* are managed by the engine's kv::PageAllocator; the backend stores the pages.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string name() const = 0;  // "cpu", "cuda"

  // Tokens per KV page.
  virtual int page_size() const = 0;
  // Bytes one page of KV takes (all layers, K and V).
  virtual size_t page_bytes() const = 0;
  // (Re)allocates storage for n_pages pages; previous contents are lost.
  virtual void allocate_kv(int n_pages) = 0;
  // Copies the first n_slots token slots of page src into page dst (copy-on-write).
  virtual void copy_page(int32_t src, int32_t dst, int n_slots) = 0;

  // Runs the model over a ragged batch, writing K/V into the pages and filling `out`.
  virtual void forward(const ForwardBatch& batch, Logits& out) = 0;
  // Whether forward() honours SeqChunk::sample_on_device (else every row comes back whole).
  virtual bool samples_on_device() const { return false; }
  // Whether forward() honours SeqChunk::row_targets (else All rows come back whole).
  virtual bool scores_on_device() const { return false; }
};

// Opens a GGUF file or a Hugging Face folder (config.json + *.safetensors) on the CPU.
// Throws sgp::Error with a clear message for anything unsupported or corrupt.
struct CpuOptions {
  int threads = 0;  // 0: every core
  int page_size = 16;
};
std::unique_ptr<Backend> load_cpu_backend(const std::string& path, const CpuOptions& options = {});

}  // namespace sgp::model
