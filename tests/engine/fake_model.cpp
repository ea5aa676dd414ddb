// FakeBackend and FakeTokenizer: a deterministic stand-in model whose logits are a hash of the
// token history it reads back through the page tables, so any paging mistake changes outputs.
#include "fake_model.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "engine/sampler.h"

namespace sgp::test {

namespace {
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

std::vector<float> fake_logits(const std::vector<int32_t>& history, int eos_after) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : history) h = mix(h ^ static_cast<uint64_t>(static_cast<uint32_t>(t)));
  std::vector<float> out(kFakeVocab);
  for (int v = 0; v < kFakeVocab; ++v)
    out[static_cast<size_t>(v)] =
        static_cast<float>(mix(h + static_cast<uint64_t>(v)) % 1000) / 100.0f - 5.0f;
  bool eos = eos_after > 0 && static_cast<int>(history.size()) >= eos_after;
  out[kFakeEos] = eos ? 20.0f : -20.0f;
  return out;
}

FakeBackend::FakeBackend(int page_size, int eos_after)
    : page_size_(page_size), eos_after_(eos_after) {
  config_.arch = "fake";
  config_.n_vocab = kFakeVocab;
  config_.n_layer = 1;
}

void FakeBackend::allocate_kv(int n_pages) {
  slots_.assign(static_cast<size_t>(n_pages),
                std::vector<int32_t>(static_cast<size_t>(page_size_), -1));
}

void FakeBackend::copy_page(int32_t src, int32_t dst, int n_slots) {
  auto& d = slots_.at(static_cast<size_t>(dst));
  const auto& s = slots_.at(static_cast<size_t>(src));
  for (int i = 0; i < page_size_; ++i)
    d[static_cast<size_t>(i)] = i < n_slots ? s[static_cast<size_t>(i)] : -2;
}

void FakeBackend::hold_at(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  hold_at_ = n;
}

void FakeBackend::wait_until_waiting() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return waiting_; });
}

void FakeBackend::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    waiting_ = false;  // a later wait_until_waiting() waits for the next hold
  }
  cv_.notify_all();
}

void FakeBackend::launch(const model::ForwardBatch& batch) {
  if (!overlapping) {
    Backend::launch(batch);
    return;
  }
  if (done_.size() >= 2) throw std::logic_error("fake backend: a third step launched");
  model::ForwardBatch resolved_batch = batch;
  for (auto& s : resolved_batch.seqs) {
    if (s.input_from_prev_row < 0) continue;
    const auto r = static_cast<size_t>(s.input_from_prev_row);
    if (s.tokens.empty() || s.tokens.back() != -1 || r >= prev_sampled_.size() ||
        prev_sampled_[r] < 0)
      throw std::logic_error("fake backend: input_from_prev_row names no drawn row");
    s.tokens.back() = prev_sampled_[r];
    ++resolved;
  }
  model::Logits out;
  forward(resolved_batch, out);
  prev_sampled_ = out.sampled;
  done_.push_back(std::move(out));
  max_outstanding = std::max<int>(max_outstanding, static_cast<int>(done_.size()));
}

void FakeBackend::collect(model::Logits& out) {
  if (!overlapping) {
    Backend::collect(out);
    return;
  }
  if (done_.empty()) throw std::logic_error("fake backend: collect without a launch");
  out = std::move(done_.front());
  done_.pop_front();
}

void FakeBackend::forward(const model::ForwardBatch& batch, model::Logits& out) {
  for (const auto& s : batch.seqs) {
    if (s.input_from_prev_row >= 0 && !overlapping)
      throw std::logic_error("fake backend: input_from_prev_row on a step that cannot overlap");
    for (int32_t t : s.tokens)
      if (t < 0 || t >= kFakeVocab) throw std::logic_error("fake backend: token id out of range");
  }
  ++forwards;
  tokens += batch.n_tokens();
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (hold_at_ == forwards) {
      held_ = true;
      hold_at_ = 0;
    }
    waiting_ = held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held_; });
    waiting_ = false;
  }
  max_seqs = std::max<int>(max_seqs, static_cast<int>(batch.seqs.size()));
  out.n_vocab = kFakeVocab;
  out.n_rows = 0;
  out.data.clear();
  out.sampled.clear();
  out.target_logprobs.clear();
  out.sampled_logprob.clear();
  out.sampled_top.clear();
  for (const auto& s : batch.seqs) {
    int n = static_cast<int>(s.tokens.size());
    max_chunk_tokens = std::max(max_chunk_tokens.load(), n);
    int end = s.start_pos + n;
    if (n == 0 || static_cast<int>(s.pages.size()) * page_size_ < end)
      throw std::logic_error("fake backend: page table does not cover the chunk");
    auto slot = [&](int pos) -> int32_t& {
      int32_t page = s.pages[static_cast<size_t>(pos / page_size_)];
      return slots_.at(static_cast<size_t>(page))[static_cast<size_t>(pos % page_size_)];
    };
    for (int i = 0; i < n; ++i) slot(s.start_pos + i) = s.tokens[static_cast<size_t>(i)];
    for (int i = 0; i < n; ++i) {
      bool want =
          s.logits == model::LogitsMode::All || (s.logits == model::LogitsMode::Last && i == n - 1);
      if (!want) continue;
      std::vector<int32_t> history;
      for (int p = 0; p <= s.start_pos + i; ++p) history.push_back(slot(p));
      std::vector<float> row = fake_logits(history, eos_after_);
      int32_t drawn = -1;
      if (s.sample_on_device) {
        if (!device_sampling) throw std::logic_error("fake backend: asked to sample on device");
        engine::TokenLogprob lp;
        drawn = engine::sample_row(row, s.sample, &lp);
        if (drawn < 0) drawn = model::Logits::kNoToken;
        if (s.sample.logprobs > 0 && drawn >= 0) {
          out.sampled_logprob.resize(static_cast<size_t>(out.n_rows),
                                     std::numeric_limits<float>::quiet_NaN());
          out.sampled_top.resize(static_cast<size_t>(out.n_rows));
          out.sampled_logprob.push_back(lp.logprob);
          out.sampled_top.push_back(lp.top);
        }
        ++rows_sampled;
        // The row's data is unspecified when sampled: poison it so the engine cannot use it.
        std::fill(row.begin(), row.end(), std::numeric_limits<float>::quiet_NaN());
      }
      float target_lp = std::numeric_limits<float>::quiet_NaN();
      if (!s.row_targets.empty() && s.row_targets.at(static_cast<size_t>(i)) >= 0) {
        if (!device_sampling) throw std::logic_error("fake backend: asked to score on device");
        std::vector<float> lsm;
        engine::log_softmax(row, lsm);
        target_lp = lsm.at(static_cast<size_t>(s.row_targets[static_cast<size_t>(i)]));
        ++rows_scored;
        std::fill(row.begin(), row.end(), std::numeric_limits<float>::quiet_NaN());
      }
      out.data.insert(out.data.end(), row.begin(), row.end());
      out.sampled.resize(static_cast<size_t>(out.n_rows), -1);
      out.sampled.push_back(drawn);
      out.target_logprobs.resize(static_cast<size_t>(out.n_rows),
                                 std::numeric_limits<float>::quiet_NaN());
      out.target_logprobs.push_back(target_lp);
      ++out.n_rows;
      if (!out.sampled_logprob.empty()) {
        out.sampled_logprob.resize(static_cast<size_t>(out.n_rows),
                                   std::numeric_limits<float>::quiet_NaN());
        out.sampled_top.resize(static_cast<size_t>(out.n_rows));
      }
    }
  }
}

FakeTokenizer::FakeTokenizer() {
  pieces_.push_back("</s>");
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  for (char c : letters) pieces_.push_back(std::string(1, c));     // 1..26
  for (char c : letters) pieces_.push_back(std::string(" ") + c);  // 27..52
  for (size_t i = 0; i + 1 < letters.size(); ++i)
    pieces_.push_back(letters.substr(i, 2));  // 53..77
  for (const char* p : {".", ",", "!", "?", "\n", " ", "\xE2\x82", "\xAC", "\xC3\xA9"})
    pieces_.push_back(p);  // 78..86
  while (static_cast<int>(pieces_.size()) < kFakeVocab)
    pieces_.push_back(std::string(1, static_cast<char>('0' + pieces_.size() % 10)));
  eos_id_ = kFakeEos;
  stop_ids_ = {kFakeEos};
}

std::vector<int32_t> FakeTokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    int best = -1;
    size_t best_len = 0;
    for (size_t t = 0; t < pieces_.size(); ++t) {
      if (t == static_cast<size_t>(kFakeEos) && !parse_special) continue;
      const std::string& p = pieces_[t];
      if (p.size() > best_len && text.substr(i, p.size()) == p)
        best = static_cast<int>(t), best_len = p.size();
    }
    if (best < 0) throw std::runtime_error("fake tokenizer: cannot encode");
    ids.push_back(best);
    i += best_len;
  }
  return ids;
}

std::string FakeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

const std::string& FakeTokenizer::token_bytes(int32_t id) const {
  return pieces_.at(static_cast<size_t>(id));
}

}  // namespace sgp::test
