// Backend: one loaded model on one device (CPU or CUDA), owning its weights and KV page storage.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
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

  // The same forward in two halves, so the host can plan the next step while the device runs
  // this one. launch() starts a step over `batch`, which must stay alive and unchanged until its
  // collect(); collect() waits for the oldest launched step and fills `out` as forward() would.
  // A step's results are those of the device state when it was launched: KV pages and copies
  // are ordered as the calls were made. By default launch() only remembers the batch and
  // collect() runs forward().
  virtual void launch(const ForwardBatch& batch) { launched_.push_back(&batch); }
  virtual void collect(Logits& out) {
    if (launched_.empty()) throw std::logic_error("Backend::collect: no step was launched");
    const ForwardBatch* b = launched_.front();
    launched_.pop_front();
    forward(*b, out);
  }
  // Whether a second step may be launched before the first is collected, its chunks naming
  // tokens the first one draws (SeqChunk::input_from_prev_row). At most two steps are then
  // outstanding.
  virtual bool overlaps() const { return false; }

 private:
  std::deque<const ForwardBatch*> launched_;
};

// Opens a GGUF file or a Hugging Face folder (config.json + *.safetensors) on the CPU.
// Throws sgp::Error with a clear message for anything unsupported or corrupt.
struct CpuOptions {
  int threads = 0;  // 0: every core
  int page_size = 16;
};
std::unique_ptr<Backend> load_cpu_backend(const std::string& path, const CpuOptions& options = {});

}  // namespace sgp::model
