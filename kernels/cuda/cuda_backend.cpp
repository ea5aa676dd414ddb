// CudaBackend: weights, KV pool and the Llama forward as a sequence of kernel launches.
#include "kernels/cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <stdexcept>

#include "kernels/cpu/dequant.h"
#include "kernels/cuda/batch_meta.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/future_tokens.h"
#include "kernels/cuda/paged_attention.h"
#include "kernels/cuda/prefill_attention.h"
#include "kernels/cuda/rope_kv.h"
#include "kernels/cuda/sampling.h"
#include "model/model_weights.h"
#include "sgp/error.h"

namespace sgp::cuda {
namespace {

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

std::vector<float> rope_inv_freq(const model::ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<float> inv(half);
  const auto& s = c.rope_scaling;
  for (int i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(static_cast<double>(c.rope_theta), 2.0 * i / c.head_dim);
    if (s.type == "linear") {
      f /= s.factor;
    } else if (s.type == "llama3") {
      const double low_wavelen = s.original_max_position / s.low_freq_factor;
      const double high_wavelen = s.original_max_position / s.high_freq_factor;
      const double wavelen = 2 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

void check_shape(const model::ModelConfig& c) {
  if (c.n_vocab <= 0 || c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 ||
      c.n_ff <= 0 || c.head_dim <= 0 || c.n_head % c.n_head_kv != 0)
    throw Error("CUDA backend: inconsistent model dimensions");
  if (c.head_dim != 64 && c.head_dim != 128 && c.head_dim != 256)
    throw Error("CUDA backend: head_dim " + std::to_string(c.head_dim) +
                " is not supported (64, 128, 256)");
  if (c.n_head / c.n_head_kv > 8)
    throw Error("CUDA backend: more than 8 query heads per KV head is not supported");
  if (c.n_embd % 8 != 0 || c.n_ff % 8 != 0)
    throw Error("CUDA backend: n_embd and n_ff must be multiples of 8");
}

}  // namespace

CudaBackend::CudaBackend(const model::ModelConfig& config, const model::CudaOptions& options,
                         bool neox_rope)
    : config_(config), neox_(neox_rope) {
  if (config_.head_dim == 0 && config_.n_head > 0)
    config_.head_dim = config_.n_embd / config_.n_head;
  check_shape(config_);
  if (config_.sliding_window > 0)
    throw Error("the CUDA backend has no sliding-window attention yet (this model's window is " +
                std::to_string(config_.sliding_window) + " tokens); use --backend cpu");
  if (options.page_size <= 0 || options.page_size > 1024)
    throw Error("CUDA backend: page_size must be in [1, 1024]");
  int n_dev = 0;
  if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev == 0) {
    cudaGetLastError();
    throw Error("CUDA backend: no CUDA device is available");
  }
  if (options.device < 0 || options.device >= n_dev)
    throw Error("CUDA backend: device " + std::to_string(options.device) + " does not exist");
  SGP_CUDA_CHECK(cudaSetDevice(options.device));
  SGP_CUDA_CHECK(cudaDeviceGetAttribute(&n_sms_, cudaDevAttrMultiProcessorCount, options.device));
  SGP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  SGP_CUDA_CHECK(cudaEventCreateWithFlags(&meta_free_, cudaEventDisableTiming));
  gemm_ = std::make_unique<Gemm>(stream_);
  graphs_ = std::make_unique<DecodeGraphs>(stream_, DecodeGraphMode::Graph);
  // Overlapped steps are on unless SGP_OVERLAP=0 (verified on the H100: same tokens as the
  // synchronous steps up to bf16 near-ties, memcheck clean, G3 +6%).
  if (const char* e = std::getenv("SGP_OVERLAP")) overlap_ = std::string(e) != "0";
  layout_ = {config_.n_layer, config_.n_head_kv, config_.head_dim, options.page_size};
  const auto inv = rope_inv_freq(config_);
  inv_freq_.resize(inv.size());
  SGP_CUDA_CHECK(cudaMemcpy(inv_freq_.data(), inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
  allocate_weights();
}

CudaBackend::~CudaBackend() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (meta_host_) cudaFreeHost(meta_host_);
  if (meta_free_) cudaEventDestroy(meta_free_);
  graphs_.reset();
  gemm_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::allocate_weights() {
  const auto& c = config_;
  const size_t E = c.n_embd, D = c.head_dim, V = c.n_vocab, F = c.n_ff;
  const size_t QKV = (c.n_head + 2 * c.n_head_kv) * D, HD = c.n_head * D;
  // 128-element alignment keeps every tensor 256-byte aligned for vector loads and cuBLAS.
  auto al = [](size_t n) { return (n + 127) / 128 * 128; };
  const size_t per_layer = al(E) + al(QKV * E) + (c.qkv_bias ? al(QKV) : 0) + al(E * HD) + al(E) +
                           al(2 * F * E) + al(E * F);
  const size_t total =
      al(V * E) + al(E) + (c.tied_embeddings ? 0 : al(V * E)) + per_layer * c.n_layer;
  size_t free_b = 0, total_b = 0;
  SGP_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if (total * 2 > free_b)
    throw Error("CUDA backend: the model needs " + gib(total * 2) + " of GPU memory but only " +
                gib(free_b) + " is free");
  arena_.resize(total);
  bf16* p = arena_.data();
  auto take = [&](size_t n) {
    bf16* r = p;
    p += al(n);
    return r;
  };
  embed_ = take(V * E);
  out_norm_ = take(E);
  lm_head_ = c.tied_embeddings ? embed_ : take(V * E);
  layers_.resize(c.n_layer);
  for (auto& L : layers_) {
    L.attn_norm = take(E);
    L.wqkv = take(QKV * E);
    L.bqkv = c.qkv_bias ? take(QKV) : nullptr;
    L.wo = take(E * HD);
    L.ffn_norm = take(E);
    L.wgu = take(2 * F * E);
    L.wdown = take(E * F);
  }
}

void CudaBackend::fill_random(uint64_t seed) {
  const auto& c = config_;
  const size_t E = c.n_embd, D = c.head_dim, V = c.n_vocab, F = c.n_ff;
  const size_t QKV = (c.n_head + 2 * c.n_head_kv) * D, HD = c.n_head * D;
  uint64_t s = seed * 1000003;
  // Uniform with the variance of N(0, 1/fan_in) keeps activations O(1) through every layer.
  auto linear = [&](bf16* w, size_t rows, size_t cols) {
    fill_uniform(w, rows * cols, std::sqrt(3.0f / cols), ++s, stream_);
  };
  fill_uniform(embed_, V * E, std::sqrt(3.0f), ++s, stream_);
  fill_value(out_norm_, E, 1.f, stream_);
  if (!c.tied_embeddings) linear(lm_head_, V, E);
  for (auto& L : layers_) {
    fill_value(L.attn_norm, E, 1.f, stream_);
    fill_value(L.ffn_norm, E, 1.f, stream_);
    linear(L.wqkv, QKV, E);
    if (L.bqkv) fill_uniform(L.bqkv, QKV, 0.1f, ++s, stream_);
    linear(L.wo, E, HD);
    linear(L.wgu, 2 * F, E);
    linear(L.wdown, E, F);
  }
  SGP_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::load_weights(const model::ModelWeights& w) {
  const auto& c = config_;
  const int64_t E = c.n_embd, D = c.head_dim, V = c.n_vocab, F = c.n_ff;
  const int64_t HD = c.n_head * D, KD = c.n_head_kv * D;
  std::vector<float> row;
  std::vector<uint16_t> host;
  // Any GGML type the CPU loader reads (F32/F16/BF16 or quantized blocks) becomes bf16 here.
  auto matrix = [&](const kernels::WeightView& v, int64_t rows, int64_t cols, bf16* dst) {
    if (v.rows != rows || v.cols != cols)
      throw Error("CUDA backend: a weight has an unexpected shape");
    row.resize(static_cast<size_t>(cols));
    host.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      kernels::dequantize_row(v.type, v.row(r), row.data(), cols);
      for (int64_t k = 0; k < cols; ++k) host[r * cols + k] = float_to_bf16(row[k]);
    }
    SGP_CUDA_CHECK(cudaMemcpy(dst, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  };
  auto vec = [&](const std::vector<float>& v, int64_t n, bf16* dst) {
    if (static_cast<int64_t>(v.size()) != n)
      throw Error("CUDA backend: a vector has an unexpected size");
    host.resize(v.size());
    for (size_t k = 0; k < v.size(); ++k) host[k] = float_to_bf16(v[k]);
    SGP_CUDA_CHECK(cudaMemcpy(dst, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  };
  matrix(w.tok_embd, V, E, embed_);
  vec(w.output_norm, E, out_norm_);
  if (!c.tied_embeddings) matrix(w.output, V, E, lm_head_);
  if (static_cast<int>(w.layers.size()) != c.n_layer)
    throw Error("CUDA backend: layer count mismatch");
  for (int i = 0; i < c.n_layer; ++i) {
    const auto& src = w.layers[i];
    auto& L = layers_[i];
    vec(src.attn_norm, E, L.attn_norm);
    vec(src.ffn_norm, E, L.ffn_norm);
    matrix(src.q, HD, E, L.wqkv);
    matrix(src.k, KD, E, L.wqkv + HD * E);
    matrix(src.v, KD, E, L.wqkv + (HD + KD) * E);
    if (L.bqkv) {
      vec(src.q_bias, HD, L.bqkv);
      vec(src.k_bias, KD, L.bqkv + HD);
      vec(src.v_bias, KD, L.bqkv + HD + KD);
    }
    matrix(src.o, E, HD, L.wo);
    matrix(src.gate, F, E, L.wgu);
    matrix(src.up, F, E, L.wgu + F * E);
    matrix(src.down, E, F, L.wdown);
  }
  // GGUF llama3 files carry per-frequency divisors instead of a scaling type.
  neox_ = !w.rope_interleaved;
  auto inv = rope_inv_freq(c);
  if (!w.rope_freq_factors.empty()) {
    if (w.rope_freq_factors.size() != inv.size()) throw Error("CUDA backend: bad rope_freqs size");
    for (size_t k = 0; k < inv.size(); ++k) inv[k] /= w.rope_freq_factors[k];
  }
  SGP_CUDA_CHECK(cudaMemcpy(inv_freq_.data(), inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
}

void CudaBackend::allocate_kv(int n_pages) {
  if (n_pages < 0) throw Error("allocate_kv: negative page count");
  SGP_CUDA_CHECK(cudaStreamSynchronize(stream_));
  kv_.resize(0);
  n_pages_ = 0;
  // One page more than asked: decode graphs park their padding rows in it (scratch_page()).
  const size_t bytes = (static_cast<size_t>(n_pages) + 1) * layout_.page_bytes();
  size_t free_b = 0, total_b = 0;
  SGP_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if (bytes > free_b)
    throw Error("allocate_kv: " + std::to_string(n_pages) + " KV pages need " + gib(bytes) +
                " but only " + gib(free_b) + " of GPU memory is free");
  kv_.resize((static_cast<size_t>(n_pages) + 1) * layout_.page_elems());
  n_pages_ = n_pages;
}

void CudaBackend::copy_page(int32_t src, int32_t dst, int n_slots) {
  if (src < 0 || src >= n_pages_ || dst < 0 || dst >= n_pages_)
    throw Error("copy_page: page id out of range");
  if (n_slots < 0 || n_slots > layout_.page_size) throw Error("copy_page: bad slot count");
  if (n_slots == 0 || src == dst) return;
  // Every (layer, K|V, head) row of a page is one contiguous run of slots.
  const size_t pitch = layout_.head_elems() * 2;
  SGP_CUDA_CHECK(cudaMemcpy2DAsync(kv_.data() + dst * layout_.page_elems(), pitch,
                                   kv_.data() + src * layout_.page_elems(), pitch,
                                   static_cast<size_t>(n_slots) * layout_.head_dim * 2,
                                   static_cast<size_t>(layout_.n_layer) * 2 * layout_.n_head_kv,
                                   cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::validate(const model::ForwardBatch& batch) const {
  for (const auto& s : batch.seqs) {
    if (s.tokens.empty()) continue;
    if (s.start_pos < 0) throw Error("forward: negative start position");
    const int64_t end = static_cast<int64_t>(s.start_pos) + static_cast<int64_t>(s.tokens.size());
    if (static_cast<int64_t>(s.pages.size()) * layout_.page_size < end)
      throw Error("forward: the page table does not cover every position of the sequence");
    // A token the previous step drew on the device is a placeholder here.
    const size_t known = s.tokens.size() - (s.input_from_prev_row >= 0 ? 1 : 0);
    for (size_t k = 0; k < known; ++k)
      if (s.tokens[k] < 0 || s.tokens[k] >= config_.n_vocab)
        throw Error("forward: token id " + std::to_string(s.tokens[k]) +
                    " is outside the vocabulary");
    if (s.input_from_prev_row >= 0) {
      const StepSlot& prev = slots_[(launched_ + 1) & 1];
      const auto r = static_cast<size_t>(s.input_from_prev_row);
      if (!overlap_ || launched_ == 0 || r >= prev.row_draw.size() || prev.row_draw[r] < 0)
        throw Error("forward: an input names a row the previous step did not draw on the device");
    }
    const size_t used = static_cast<size_t>((end + layout_.page_size - 1) / layout_.page_size);
    for (size_t i = 0; i < used; ++i)
      if (s.pages[i] < 0 || s.pages[i] >= n_pages_)
        throw Error("forward: page id " + std::to_string(s.pages[i]) +
                    " is outside the allocated KV pool");
    if (!s.row_targets.empty()) {
      if (s.logits != model::LogitsMode::All || s.row_targets.size() != s.tokens.size())
        throw Error("forward: row targets need LogitsMode::All and one target per token");
      for (int32_t t : s.row_targets)
        if (t >= config_.n_vocab) throw Error("forward: row target outside the vocabulary");
    }
  }
}

int CudaBackend::forward_device(const model::ForwardBatch& batch) {
  validate(batch);
  if (const int rows = graphs_->try_run(*this, batch); rows >= 0) return rows;
  const auto& c = config_;
  const int D = c.head_dim, H = c.n_head;

  // Host-side index arrays, laid out [tokens | pos | seq | page_off | pages | logit rows].
  // Chunks of several tokens go to the tensor-core prefill kernel, single tokens to the
  // split-KV decode kernel.
  const int group = H / c.n_head_kv;
  const bool tc_prefill = tc_prefill_ && prefill_attention_supported(D, group);
  const int tile_tokens = prefill_tile_tokens(group);
  int T = 0, P = 0, R = 0, max_keys = 0, n_dec = 0, n_tiles = 0;
  int64_t sum_keys = 0;  // over decode rows: each attends to start_pos + n keys at most
  const int S = static_cast<int>(batch.seqs.size());
  for (const auto& s : batch.seqs) {
    const int n = static_cast<int>(s.tokens.size());
    T += n;
    if (n == 0) continue;
    P += (s.start_pos + n + layout_.page_size - 1) / layout_.page_size;
    R += s.logits == model::LogitsMode::All ? n : (s.logits == model::LogitsMode::Last ? 1 : 0);
    if (tc_prefill && n > 1) {
      n_tiles += (n + tile_tokens - 1) / tile_tokens;
    } else {
      n_dec += n;
      max_keys = std::max(max_keys, s.start_pos + n);
      sum_keys += static_cast<int64_t>(n) * (s.start_pos + n);
    }
  }
  if (T == 0) return 0;
  const size_t meta_n = 3 * static_cast<size_t>(T) + S + 1 + P + R + n_dec + 3 * n_tiles;
  SGP_CUDA_CHECK(cudaEventSynchronize(meta_free_));  // the previous transfer has left the buffer
  if (meta_n > meta_cap_) {
    if (meta_host_) cudaFreeHost(meta_host_);
    meta_host_ = nullptr;
    meta_cap_ = 0;
    SGP_CUDA_CHECK(cudaHostAlloc(&meta_host_, meta_n * 2 * sizeof(int), cudaHostAllocDefault));
    meta_cap_ = meta_n * 2;
    meta_dev_.resize(meta_cap_);
  }
  int* tok = meta_host_;
  int* pos = tok + T;
  int* seq = pos + T;
  int* page_off = seq + T;
  int* pages = page_off + S + 1;
  int* rows = pages + P;
  int* dec = rows + R;
  int* tiles = dec + n_dec;
  int ti = 0, pi = 0, ri = 0, di = 0, ci = 0;
  for (int si = 0; si < S; ++si) {
    const auto& s = batch.seqs[si];
    const int n = static_cast<int>(s.tokens.size());
    page_off[si] = pi;
    if (n == 0) continue;
    for (int k = 0; k < n; ++k) {
      tok[ti + k] = s.tokens[k];
      pos[ti + k] = s.start_pos + k;
      seq[ti + k] = si;
    }
    const int np = (s.start_pos + n + layout_.page_size - 1) / layout_.page_size;
    std::memcpy(pages + pi, s.pages.data(), np * sizeof(int));
    pi += np;
    if (s.logits == model::LogitsMode::All)
      for (int k = 0; k < n; ++k) rows[ri++] = ti + k;
    else if (s.logits == model::LogitsMode::Last)
      rows[ri++] = ti + n - 1;
    if (tc_prefill && n > 1) {
      for (int k = 0; k < n; k += tile_tokens) {
        tiles[ci++] = si;
        tiles[ci++] = ti + k;
        tiles[ci++] = std::min(tile_tokens, n - k);
      }
    } else {
      for (int k = 0; k < n; ++k) dec[di++] = ti + k;
    }
    ti += n;
  }
  page_off[S] = pi;
  SGP_CUDA_CHECK(cudaMemcpyAsync(meta_dev_.data(), meta_host_, meta_n * sizeof(int),
                                 cudaMemcpyHostToDevice, stream_));
  SGP_CUDA_CHECK(cudaEventRecord(meta_free_, stream_));
  resolve_inputs(batch, meta_dev_.data());
  const int* d_tok = meta_dev_.data();
  BatchMeta meta{d_tok + 2 * T, d_tok + T, d_tok + 3 * T, d_tok + 3 * T + S + 1, T};
  const int* d_rows = d_tok + 3 * T + S + 1 + P;
  const int* d_dec = d_rows + R;
  ForwardPlan plan;
  plan.n_tokens = T;
  plan.n_rows = R;
  plan.meta = meta;
  plan.tokens = d_tok;
  plan.rows = d_rows;
  plan.dec = d_dec;
  plan.n_dec = n_dec;
  plan.tiles = d_dec + n_dec;
  plan.n_tiles = n_tiles;
  plan.max_keys = max_keys;
  plan.n_splits = n_dec ? attention_splits(n_dec, c.n_head_kv, max_keys, n_sms_,
                                           static_cast<int>(sum_keys / std::max(n_dec, 1)))
                        : 1;
  return launch_forward(plan);
}

void CudaBackend::reserve_activations(const ForwardPlan& p) {
  const auto& c = config_;
  const size_t T = p.n_tokens, E = c.n_embd, D = c.head_dim, F = c.n_ff, V = c.n_vocab;
  const size_t H = c.n_head, QKV = (c.n_head + 2 * c.n_head_kv) * D, HD = H * D;
  x_.reserve(T * E);
  h_.reserve(T * E);
  qkv_.reserve(T * QKV);
  q_.reserve(T * HD);
  attn_.reserve(T * HD);
  delta_.reserve(T * E);
  gu_.reserve(T * 2 * F);
  act_.reserve(T * F);
  if (p.n_splits > 1) {
    part_acc_.reserve(static_cast<size_t>(p.n_dec) * H * p.n_splits * D);
    part_ml_.reserve(static_cast<size_t>(p.n_dec) * H * p.n_splits * 2);
  }
  rows_h_.reserve(static_cast<size_t>(std::max(p.n_rows, 1)) * E);
  logits_.reserve(static_cast<size_t>(std::max(p.n_rows, 1)) * V);
  cos_sin_.reserve(T * D / 2);
}

std::vector<uintptr_t> CudaBackend::graph_key(const void* staging) const {
  auto a = [](const void* p) { return reinterpret_cast<uintptr_t>(p); };
  return {a(x_.data()),
          a(h_.data()),
          a(qkv_.data()),
          a(q_.data()),
          a(attn_.data()),
          a(delta_.data()),
          a(gu_.data()),
          a(act_.data()),
          a(part_acc_.data()),
          a(part_ml_.data()),
          a(rows_h_.data()),
          a(logits_.data()),
          a(cos_sin_.data()),
          a(kv_.data()),
          a(staging),
          static_cast<uintptr_t>(n_pages_),
          static_cast<uintptr_t>(gemm_->skinny())};
}

int CudaBackend::launch_forward(const ForwardPlan& p) {
  const auto& c = config_;
  const int T = p.n_tokens, R = p.n_rows;
  const int E = c.n_embd, D = c.head_dim, V = c.n_vocab, F = c.n_ff, H = c.n_head;
  const int QKV = (c.n_head + 2 * c.n_head_kv) * D, HD = H * D;
  reserve_activations(p);
  prof_.mark("embed+rope", stream_);
  embed_tokens(embed_, p.tokens, x_.data(), T, E, stream_);
  rope_table(p.meta.tok_pos, inv_freq_.data(), cos_sin_.data(), T, D / 2, stream_);
  PagedAttention att;
  att.q = q_.data();
  att.out = attn_.data();
  att.part_acc = part_acc_.data();
  att.part_ml = part_ml_.data();
  att.layout = layout_;
  att.meta = p.meta;
  att.tokens = p.dec;
  att.n_rows = p.n_dec;
  att.n_head = H;
  att.max_keys = p.max_keys;
  att.n_splits = p.n_splits;
  att.min_chunk = p.min_chunk;
  PrefillAttention pre;
  pre.q = q_.data();
  pre.out = attn_.data();
  pre.layout = layout_;
  pre.meta = p.meta;
  pre.n_head = H;
  pre.tiles = p.tiles;
  pre.n_tiles = p.n_tiles;
  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = layers_[l];
    bf16* kv_layer = kv_.data() + l * layout_.layer_elems();
    prof_.mark("norm", stream_);
    add_rms_norm(x_.data(), l == 0 ? nullptr : delta_.data(), L.attn_norm, h_.data(), nullptr, T, E,
                 c.rms_eps, stream_);
    prof_.mark("gemm_qkv", stream_);
    gemm_->bf16_out(h_.data(), L.wqkv, qkv_.data(), T, QKV, E);
    prof_.mark("rope_kv", stream_);
    rope_store_kv(qkv_.data(), L.bqkv, q_.data(), kv_layer, layout_, p.meta, cos_sin_.data(), H,
                  neox_, stream_);
    att.kv = kv_layer;
    pre.kv = kv_layer;
    prof_.mark("attn_decode", stream_);
    paged_attention(att, stream_);
    prof_.mark("attn_prefill", stream_);
    prefill_attention(pre, stream_);
    prof_.mark("gemm_o", stream_);
    gemm_->bf16_out(attn_.data(), L.wo, delta_.data(), T, E, HD);
    prof_.mark("norm", stream_);
    add_rms_norm(x_.data(), delta_.data(), L.ffn_norm, h_.data(), nullptr, T, E, c.rms_eps,
                 stream_);
    prof_.mark("gemm_gate_up", stream_);
    gemm_->bf16_out(h_.data(), L.wgu, gu_.data(), T, 2 * F, E);
    prof_.mark("silu_mul", stream_);
    silu_mul(gu_.data(), act_.data(), T, F, stream_);
    prof_.mark("gemm_down", stream_);
    gemm_->bf16_out(act_.data(), L.wdown, delta_.data(), T, E, F);
  }
  prof_.mark("lm_head", stream_);
  if (R == 0) {
    prof_.finish(stream_);
    return 0;
  }
  add_rms_norm(x_.data(), delta_.data(), out_norm_, rows_h_.data(), p.rows, R, E, c.rms_eps,
               stream_);
  gemm_->f32_out(rows_h_.data(), lm_head_, logits_.data(), R, V, E);
  prof_.finish(stream_);
  return R;
}

void CudaBackend::resolve_inputs(const model::ForwardBatch& batch, int* tokens) {
  size_t n = 0;
  for (const auto& s : batch.seqs) n += s.input_from_prev_row >= 0;
  if (n == 0) return;
  // Checked in validate(): the previous launch drew each named row.
  StepSlot& slot = slots_[launched_ & 1];
  const StepSlot& prev = slots_[(launched_ + 1) & 1];
  slot.futures.reserve(n);
  n = 0;
  int ti = 0;
  for (const auto& s : batch.seqs) {
    ti += static_cast<int>(s.tokens.size());
    if (s.input_from_prev_row >= 0)
      slot.futures[n++] = {ti - 1, prev.row_draw[static_cast<size_t>(s.input_from_prev_row)]};
  }
  futures_.reserve(n);
  SGP_CUDA_CHECK(cudaMemcpyAsync(futures_.data(), slot.futures.data(), n * sizeof(FutureToken),
                                 cudaMemcpyHostToDevice, stream_));
  copy_drawn_tokens(tokens, futures_.data(), static_cast<int>(n), prev.sampler.device_tokens(),
                    stream_);
}

void CudaBackend::forward(const model::ForwardBatch& batch, model::Logits& out) {
  if (launched_ != collected_)
    throw std::logic_error("CudaBackend::forward: a launched step was not collected");
  launch(batch);
  collect(out);
}

void CudaBackend::launch(const model::ForwardBatch& batch) {
  // Each slot's host buffers are reused only once its step was collected.
  if (launched_ - collected_ >= 2)
    throw std::logic_error("CudaBackend::launch: two steps are outstanding already");
  StepSlot& st = slots_[launched_ & 1];
  if (!st.done) SGP_CUDA_CHECK(cudaEventCreateWithFlags(&st.done, cudaEventDisableTiming));
  const int rows = forward_device(batch);
  const size_t V = static_cast<size_t>(config_.n_vocab);
  st.rows = rows;

  // Rows drawn here send back one token; the rest come back whole, in runs of adjacent rows.
  st.draws.clear();
  st.targets.clear();
  std::vector<char> whole(static_cast<size_t>(rows), 1);
  int row = 0;
  for (const auto& s : batch.seqs) {
    if (s.logits == model::LogitsMode::Last) {
      if (s.sample_on_device) {
        st.draws.add(row, s.sample, config_.n_vocab);
        whole[static_cast<size_t>(row)] = 0;
      }
      ++row;
    } else if (s.logits == model::LogitsMode::All) {
      if (!s.row_targets.empty()) {  // checked in validate(), before the forward ran
        for (size_t j = 0; j < s.tokens.size(); ++j) {
          const int32_t t = s.row_targets[j];
          if (t >= 0) st.targets.push_back({row + static_cast<int>(j), t});
          whole[static_cast<size_t>(row) + j] = 0;
        }
      }
      row += static_cast<int>(s.tokens.size());
    }
  }
  st.row_draw.assign(static_cast<size_t>(rows), -1);
  for (size_t i = 0; i < st.draws.draws.size(); ++i)
    st.row_draw[static_cast<size_t>(st.draws.draws[i].row)] = static_cast<int>(i);
  st.sampler.launch(logits_.data(), config_.n_vocab, st.draws, stream_);
  // When every row is drawn or scored here, no row comes back and `data` stays empty (sizing it
  // would zero-fill up to rows x vocab floats on the host every step for nothing).
  st.whole = std::find(whole.begin(), whole.end(), 1) != whole.end();
  if (st.whole) st.data.resize(static_cast<size_t>(rows) * V);
  if (!st.targets.empty()) {
    const size_t n = st.targets.size();
    st.targets_in.reserve(n);
    st.target_lp.reserve(n);
    std::copy(st.targets.begin(), st.targets.end(), st.targets_in.data());
    targets_.reserve(n);
    target_lp_.reserve(n);
    SGP_CUDA_CHECK(cudaMemcpyAsync(targets_.data(), st.targets_in.data(), n * sizeof(RowTarget),
                                   cudaMemcpyHostToDevice, stream_));
    row_logprobs(logits_.data(), config_.n_vocab, targets_.data(), static_cast<int>(n),
                 target_lp_.data(), stream_);
    SGP_CUDA_CHECK(cudaMemcpyAsync(st.target_lp.data(), target_lp_.data(), n * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream_));
  }
  // Into pageable memory: these copies return once done (only steps the host must see first
  // have whole rows, and those are collected at once).
  for (int r = 0; r < rows;) {
    if (!whole[static_cast<size_t>(r)]) {
      ++r;
      continue;
    }
    int end = r;
    while (end < rows && whole[static_cast<size_t>(end)]) ++end;
    SGP_CUDA_CHECK(cudaMemcpyAsync(
        st.data.data() + static_cast<size_t>(r) * V, logits_.data() + static_cast<size_t>(r) * V,
        static_cast<size_t>(end - r) * V * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    r = end;
  }
  SGP_CUDA_CHECK(cudaEventRecord(st.done, stream_));
  ++launched_;
}

void CudaBackend::collect(model::Logits& out) {
  if (collected_ == launched_) throw std::logic_error("CudaBackend::collect: no step was launched");
  StepSlot& st = slots_[collected_ & 1];
  ++collected_;
  SGP_CUDA_CHECK(cudaEventSynchronize(st.done));
  out.n_rows = st.rows;
  out.n_vocab = config_.n_vocab;
  if (st.whole)
    out.data.swap(st.data);  // the slot keeps the old buffer for a later step
  else
    out.data.clear();
  out.sampled.clear();
  out.sampled_logprob.clear();
  out.sampled_top.clear();
  if (!st.draws.empty()) st.sampler.results(st.draws, st.rows, out);
  out.target_logprobs.clear();
  if (!st.targets.empty()) {
    out.target_logprobs.assign(static_cast<size_t>(st.rows), std::nanf(""));
    for (size_t i = 0; i < st.targets.size(); ++i)
      out.target_logprobs[static_cast<size_t>(st.targets[i].row)] = st.target_lp[i];
  }
}

}  // namespace sgp::cuda

namespace sgp::model {

bool cuda_device_available() {
  int n = 0;
  const bool ok = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
  cudaGetLastError();
  return ok;
}

std::unique_ptr<Backend> load_cuda_backend(const std::string& path, const CudaOptions& options) {
  // The CPU backend's loader (GGUF or a Hugging Face folder) maps the file; the weights are
  // converted to bf16 on their way to the GPU.
  auto w = load_weights(path);
  auto b = std::make_unique<cuda::CudaBackend>(w->config, options, !w->rope_interleaved);
  b->load_weights(*w);
  return b;
}

size_t cuda_kv_budget(double utilization, int max_step_tokens, int max_rows, const ModelConfig& c,
                      int device) {
  if (!(utilization > 0.0 && utilization <= 1.0))
    throw Error("GPU memory utilization must be in (0, 1], not " + std::to_string(utilization));
  SGP_CUDA_CHECK(cudaSetDevice(device));
  size_t free_b = 0, total = 0;
  SGP_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  const double T = max_step_tokens, E = c.n_embd, F = c.n_ff, V = c.n_vocab;
  const double HD = static_cast<double>(c.n_head) * c.head_dim;
  const double QKV = HD + 2.0 * c.n_head_kv * c.head_dim;
  // fp32 residual + bf16 h/delta/q/attn + qkv + gate/up + act; fp32 logits + bf16 rows.
  const double activations = T * (E * 4 + E * 2 * 2 + HD * 2 * 2 + QKV * 2 + F * 2 * 2 + F * 2) +
                             static_cast<double>(std::max(max_rows, 1)) * (V * 4 + E * 2);
  const double slack = 1024.0 * 1024 * 1024;  // cuBLAS workspaces, attention partials
  const double used = static_cast<double>(total - free_b);
  const double budget = static_cast<double>(total) * utilization - used - activations - slack;
  if (budget < 64.0 * 1024 * 1024)
    throw Error("the GPU has no room for a KV cache: " + std::to_string(free_b >> 20) +
                " MiB free of " + std::to_string(total >> 20) + " MiB after the weights, " +
                std::to_string(static_cast<long long>(activations / (1 << 20))) +
                " MiB needed for activations; raise --gpu-memory-utilization or use a smaller "
                "model");
  return static_cast<size_t>(budget);
}

std::unique_ptr<Backend> make_random_cuda_backend(const ModelConfig& config, uint64_t seed,
                                                  const CudaOptions& options) {
  auto b = std::make_unique<cuda::CudaBackend>(config, options, /*neox_rope=*/true);
  b->fill_random(seed);
  return b;
}

}  // namespace sgp::model
