// CpuBackend::forward: embeddings, then per layer RMSNorm -> QKV -> RoPE -> paged GQA -> SwiGLU.
#include "model/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "kernels/cpu/attend.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/packed_rows.h"
#include "kernels/cpu/vec_f32.h"
#include "model/mapped_file.h"
#include "sgp/error.h"

namespace sgp::model {
namespace {

kernels::RopeParams rope_params(const ModelWeights& w) {
  const ModelConfig& c = w.config;
  kernels::RopeParams p;
  p.head_dim = c.head_dim;
  p.theta = c.rope_theta;
  p.interleaved = w.rope_interleaved;
  p.freq_factors = w.rope_freq_factors;
  // Files that carry their own frequency factors already encode the llama3 scaling.
  if (p.freq_factors.empty()) {
    p.scaling = c.rope_scaling.type;
    p.factor = c.rope_scaling.factor;
    p.low_freq_factor = c.rope_scaling.low_freq_factor;
    p.high_freq_factor = c.rope_scaling.high_freq_factor;
    p.original_max_position = c.rope_scaling.original_max_position;
  }
  return p;
}

template <typename T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

CpuBackend::CpuBackend(std::unique_ptr<ModelWeights> weights, const CpuOptions& options)
    : w_(std::move(weights)),
      pool_(options.threads),
      rope_(rope_params(*w_)),
      page_size_(options.page_size) {
  if (page_size_ <= 0 || page_size_ > 4096) throw Error("cpu backend: page_size must be 1..4096");
  const ModelConfig& c = w_->config;
  kv_dim_ = c.n_head_kv * c.head_dim;
  page_floats_ = static_cast<size_t>(c.n_layer) * 2 * page_size_ * kv_dim_;
  pack_weights();
}

void CpuBackend::pack_weights() {
  // In the order the forward reads them, into one arena (weight_arena.h).
  std::vector<kernels::WeightView*> order;
  for (LayerWeights& L : w_->layers) {
    for (kernels::WeightView* w : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
      order.push_back(w);
  }
  order.push_back(&w_->output);
  size_t total = 0;
  for (const kernels::WeightView* w : order) {
    if (kernels::packable(w->type, w->rows, w->cols))
      total += kernels::WeightArena::footprint(kernels::packed_bytes(w->type, w->rows, w->cols));
  }
  packed_ = kernels::WeightArena(total);
  std::vector<std::pair<kernels::WeightView*, uint8_t*>> todo;
  for (kernels::WeightView* w : order) {
    if (!kernels::packable(w->type, w->rows, w->cols)) continue;
    todo.emplace_back(w, packed_.take(kernels::packed_bytes(w->type, w->rows, w->cols)));
  }
  // One matrix per task (packing is most of the load time), the head (largest, last) first.
  const int n = static_cast<int>(todo.size());
  pool_.parallel_for(n, [&](int i, int) {
    auto [w, buf] = todo[n - 1 - i];
    kernels::pack_rows(w->type, w->data, w->row_bytes, w->rows, w->cols, buf);
    w->packed = buf;
    // The mapped source is not read again by the forward pass, so its pages need not stay
    // resident next to the copy.
    release_pages(w->data, w->row_bytes * static_cast<size_t>(w->rows));
  });
  // A tied head's packed copy also serves the embedding rows, so memory does not double.
  if (w_->output.packed != nullptr && w_->output.data == w_->tok_embd.data) {
    embd_packed_ = w_->output.packed;
    embd_row_.resize(w_->tok_embd.row_bytes);
  }
}

void CpuBackend::allocate_kv(int n_pages) {
  if (n_pages < 0) throw Error("cpu backend: negative page count");
  kv_.clear();
  kv_.shrink_to_fit();
  n_pages_ = 0;
  try {
    kv_.resize(static_cast<size_t>(n_pages) * page_floats_);
  } catch (const std::bad_alloc&) {
    throw Error("cpu backend: cannot allocate " + std::to_string(n_pages) + " KV pages (" +
                std::to_string(static_cast<double>(n_pages) * page_bytes() / 1048576.0) + " MB)");
  }
  n_pages_ = n_pages;
}

void CpuBackend::copy_page(int32_t src, int32_t dst, int n_slots) {
  if (src < 0 || src >= n_pages_ || dst < 0 || dst >= n_pages_ || n_slots < 0 ||
      n_slots > page_size_) {
    throw Error("cpu backend: copy_page out of range");
  }
  if (src == dst) return;
  for (int l = 0; l < w_->config.n_layer; ++l) {
    for (int kv = 0; kv < 2; ++kv) {
      std::memcpy(kv_slot(dst, l, kv, 0), kv_slot(src, l, kv, 0),
                  sizeof(float) * static_cast<size_t>(n_slots) * kv_dim_);
    }
  }
}

void CpuBackend::validate(const ForwardBatch& batch) const {
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SeqChunk& sc = batch.seqs[s];
    const std::string at = "forward: sequence " + std::to_string(s) + ": ";
    if (sc.start_pos < 0) throw Error(at + "negative start position");
    int64_t end = int64_t{sc.start_pos} + static_cast<int64_t>(sc.tokens.size());
    if (static_cast<int64_t>(sc.pages.size()) * page_size_ < end) {
      throw Error(at + "page table covers " + std::to_string(sc.pages.size() * page_size_) +
                  " positions, needs " + std::to_string(end));
    }
    for (int64_t p = 0; p < (end + page_size_ - 1) / page_size_; ++p) {
      if (sc.pages[p] < 0 || sc.pages[p] >= n_pages_) {
        throw Error(at + "page id " + std::to_string(sc.pages[p]) + " is not allocated (" +
                    std::to_string(n_pages_) + " pages)");
      }
    }
    for (int32_t t : sc.tokens) {
      if (t < 0 || t >= w_->config.n_vocab) {
        throw Error(at + "token id " + std::to_string(t) + " outside the vocabulary");
      }
    }
  }
}

void CpuBackend::attention(int layer, const ForwardBatch& batch) {
  const ModelConfig& c = w_->config;
  const int hd = c.head_dim, group = c.n_head / c.n_head_kv;
  const int T = static_cast<int>(tok_seq_.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int qd = c.n_head * hd, window = c.sliding_window;
  if (static_cast<int>(scores_.size()) < pool_.size()) scores_.resize(pool_.size());
  if (static_cast<int>(rows_.size()) < pool_.size()) rows_.resize(pool_.size());
  // Few tokens (decode) give too few (token, KV head) tasks to balance the threads: then each
  // query head is its own task.
  const int parts = T * c.n_head_kv < 4 * pool_.size() ? group : 1, heads = group / parts;
  pool_.parallel_for(T * c.n_head_kv * parts, [&](int task, int thread) {
    const int part = task % parts, t = task / parts / c.n_head_kv, g = task / parts % c.n_head_kv;
    const SeqChunk& sc = batch.seqs[tok_seq_[t]];
    const int n_pos = tok_pos_[t] + 1;  // causal: positions [0, pos]
    // A sliding window keeps only the last `window` of them: [first, pos].
    const int first = window > 0 && n_pos > window ? n_pos - window : 0, n = n_pos - first;
    std::vector<float>& sbuf = scores_[thread];
    grow(sbuf, static_cast<size_t>(heads) * n);
    std::vector<const float*>& rows = rows_[thread];
    grow(rows, 2 * static_cast<size_t>(n));
    for (int p = first; p < n_pos; ++p) {
      const int32_t page = sc.pages[p / page_size_];
      rows[p - first] = kv_slot(page, layer, 0, p % page_size_) + g * hd;
      rows[n + p - first] = kv_slot(page, layer, 1, p % page_size_) + g * hd;
    }
    const size_t at = static_cast<size_t>(t) * qd + (g * group + part * heads) * hd;
    kernels::attend(&q_[at], heads, rows.data(), rows.data() + n, n, hd, scale, sbuf.data(),
                    &att_[at]);
  });
}

void CpuBackend::forward(const ForwardBatch& batch, Logits& out) {
  validate(batch);
  const ModelConfig& c = w_->config;
  const int d = c.n_embd, hd = c.head_dim, qd = c.n_head * hd, ff = c.n_ff, half = hd / 2;
  tok_seq_.clear();
  tok_pos_.clear();
  int n_rows = 0;
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SeqChunk& sc = batch.seqs[s];
    for (size_t i = 0; i < sc.tokens.size(); ++i) {
      tok_seq_.push_back(static_cast<int32_t>(s));
      tok_pos_.push_back(sc.start_pos + static_cast<int32_t>(i));
    }
    if (sc.logits == LogitsMode::All) n_rows += static_cast<int>(sc.tokens.size());
    if (sc.logits == LogitsMode::Last && !sc.tokens.empty()) n_rows += 1;
  }
  const int T = static_cast<int>(tok_seq_.size());
  out.n_rows = n_rows;
  out.n_vocab = c.n_vocab;
  out.data.assign(static_cast<size_t>(n_rows) * c.n_vocab, 0.0f);
  if (T == 0) return;

  const size_t Ts = static_cast<size_t>(T);
  grow(x_, Ts * d), grow(xn_, Ts * d), grow(q_, Ts * qd), grow(k_, Ts * kv_dim_);
  grow(v_, Ts * kv_dim_), grow(att_, Ts * qd), grow(gate_, Ts * ff), grow(up_, Ts * ff);
  grow(ff_, Ts * ff), grow(cos_, Ts * half), grow(sin_, Ts * half);

  int t = 0;
  for (const SeqChunk& sc : batch.seqs) {
    for (int32_t tok : sc.tokens) {
      const kernels::WeightView& E = w_->tok_embd;
      const uint8_t* row = E.row(tok);
      if (embd_packed_ != nullptr) {
        kernels::unpack_row(E.type, embd_packed_, d, tok, embd_row_.data());
        row = embd_row_.data();
      }
      kernels::dequantize_row(E.type, row, &x_[t * d], d);
      rope_.angles(tok_pos_[t], &cos_[t * half], &sin_[t * half]);
      ++t;
    }
  }

  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w_->layers[l];
    for (int i = 0; i < T; ++i) {
      kernels::rms_norm(&x_[i * d], L.attn_norm.data(), &xn_[i * d], d, c.rms_eps);
    }
    const bool bias = c.qkv_bias;
    kernels::MatmulJob qkv[3] = {{&L.q, q_.data(), qd, bias ? L.q_bias.data() : nullptr},
                                 {&L.k, k_.data(), kv_dim_, bias ? L.k_bias.data() : nullptr},
                                 {&L.v, v_.data(), kv_dim_, bias ? L.v_bias.data() : nullptr}};
    kernels::matmul(pool_, mm_, xn_.data(), T, qkv, 3);
    for (int i = 0; i < T; ++i) {
      rope_.apply(&q_[i * qd], c.n_head, &cos_[i * half], &sin_[i * half]);
      rope_.apply(&k_[i * kv_dim_], c.n_head_kv, &cos_[i * half], &sin_[i * half]);
      const SeqChunk& sc = batch.seqs[tok_seq_[i]];
      const int pos = tok_pos_[i];
      const int32_t page = sc.pages[pos / page_size_];
      std::memcpy(kv_slot(page, l, 0, pos % page_size_), &k_[i * kv_dim_], sizeof(float) * kv_dim_);
      std::memcpy(kv_slot(page, l, 1, pos % page_size_), &v_[i * kv_dim_], sizeof(float) * kv_dim_);
    }
    attention(l, batch);
    kernels::MatmulJob o{&L.o, xn_.data(), d};
    kernels::matmul(pool_, mm_, att_.data(), T, &o, 1);
    for (size_t i = 0; i < Ts * d; ++i) x_[i] += xn_[i];

    for (int i = 0; i < T; ++i) {
      kernels::rms_norm(&x_[i * d], L.ffn_norm.data(), &xn_[i * d], d, c.rms_eps);
    }
    kernels::MatmulJob gu[2] = {{&L.gate, gate_.data(), ff}, {&L.up, up_.data(), ff}};
    kernels::matmul(pool_, mm_, xn_.data(), T, gu, 2);
    kernels::silu_mul(gate_.data(), up_.data(), ff_.data(), static_cast<int64_t>(Ts) * ff);
    kernels::MatmulJob down{&L.down, xn_.data(), d};
    kernels::matmul(pool_, mm_, ff_.data(), T, &down, 1);
    for (size_t i = 0; i < Ts * d; ++i) x_[i] += xn_[i];
  }

  if (n_rows == 0) return;
  // Final norm only on the rows that produce logits.
  int r = 0;
  t = 0;
  for (const SeqChunk& sc : batch.seqs) {
    const int n = static_cast<int>(sc.tokens.size());
    for (int i = 0; i < n; ++i, ++t) {
      bool want = sc.logits == LogitsMode::All || (sc.logits == LogitsMode::Last && i == n - 1);
      if (want) {
        kernels::rms_norm(&x_[t * d], w_->output_norm.data(), &xn_[r * d], d, c.rms_eps);
        ++r;
      }
    }
  }
  kernels::MatmulJob head{&w_->output, out.data.data(), c.n_vocab};
  kernels::matmul(pool_, mm_, xn_.data(), n_rows, &head, 1);
}

std::unique_ptr<Backend> load_cpu_backend(const std::string& path, const CpuOptions& options) {
  return std::make_unique<CpuBackend>(load_weights(path), options);
}

}  // namespace sgp::model
