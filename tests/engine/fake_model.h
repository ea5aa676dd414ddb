// FakeBackend and FakeTokenizer: a deterministic stand-in model whose logits are a hash of the
// token history it reads back through the page tables, so any paging mistake changes outputs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "model/backend.h"
#include "tokenizer/tokenizer.h"

namespace sgp::test {

constexpr int kFakeVocab = 96;
constexpr int32_t kFakeEos = 0;

// The model: logits for the next token after `history`. The reference every test compares with.
// eos_after: from that history length on, EOS is the most likely token (0: never).
std::vector<float> fake_logits(const std::vector<int32_t>& history, int eos_after);

class FakeBackend : public model::Backend {
 public:
  explicit FakeBackend(int page_size = 4, int eos_after = 0);
  const model::ModelConfig& config() const override { return config_; }
  std::string name() const override { return "fake"; }
  int page_size() const override { return page_size_; }
  size_t page_bytes() const override { return 1000; }
  void allocate_kv(int n_pages) override;
  void copy_page(int32_t src, int32_t dst, int n_slots) override;
  void forward(const model::ForwardBatch& batch, model::Logits& out) override;
  bool samples_on_device() const override { return device_sampling; }
  bool scores_on_device() const override { return device_sampling; }
  void launch(const model::ForwardBatch& batch) override;
  void collect(model::Logits& out) override;
  bool overlaps() const override { return overlapping; }

  void release();  // lets a held forward go on
  // Makes forward number n (from 1) hold, and waits until it does.
  void hold_at(int n);
  void wait_until_waiting();

  std::atomic<int> forwards{0};
  std::atomic<int> tokens{0};
  std::atomic<int> max_chunk_tokens{0};
  std::atomic<int> max_seqs{0};
  // Plays a backend that draws tokens itself (engine::sample_row stands in for the device).
  std::atomic<bool> device_sampling{false};
  std::atomic<int> rows_sampled{0};
  std::atomic<int> rows_scored{0};
  // Plays a backend that overlaps steps: launch() runs the step at once (the device's order
  // of work), taking each SeqChunk::input_from_prev_row from the previous launch's draws;
  // collect() hands the results back oldest first. More than two outstanding steps, a
  // placeholder token without its row, or a row that was not drawn is an error.
  std::atomic<bool> overlapping{false};
  std::atomic<int> resolved{0};  // tokens taken from a previous step's draws
  std::atomic<int> max_outstanding{0};

 private:
  model::ModelConfig config_;
  int page_size_;
  int eos_after_;
  std::vector<std::vector<int32_t>> slots_;
  std::deque<model::Logits> done_;     // launched, not collected (overlapping)
  std::vector<int32_t> prev_sampled_;  // draws of the last launched step, per row
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool waiting_ = false;
  int hold_at_ = 0;
};

// Token 0 is "</s>" (special, EOS). The rest are 1-3 byte pieces, including the two halves of
// the UTF-8 encoding of "€", so text must be decoded incrementally.
class FakeTokenizer : public model::Tokenizer {
 public:
  FakeTokenizer();
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  const std::string& token_bytes(int32_t id) const override;
  int n_vocab() const override { return kFakeVocab; }
  bool is_special(int32_t id) const override { return id == kFakeEos; }

 private:
  std::vector<std::string> pieces_;
};

}  // namespace sgp::test
