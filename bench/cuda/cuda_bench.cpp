// GPU benchmarks: decode-step bandwidth fractions (G1, G2), attention kernels (G5), and the
// ceilings they are divided by (device copy bandwidth, a large cuBLAS GEMM), all in one run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bench/cuda/model_shapes.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/paged_attention.h"
#include "kernels/cuda/prefill_attention.h"
#include "kernels/cuda/skinny_gemm.h"

using namespace sgp;
using namespace sgp::cuda;

namespace {

// Median milliseconds of `reps` timed runs after `warm` untimed ones, each bracketed by events.
double median_ms(cudaStream_t s, int warm, int reps, const std::function<void()>& fn) {
  for (int i = 0; i < warm; ++i) fn();
  SGP_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaEvent_t a, b;
  SGP_CUDA_CHECK(cudaEventCreate(&a));
  SGP_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    SGP_CUDA_CHECK(cudaEventRecord(a, s));
    fn();
    SGP_CUDA_CHECK(cudaEventRecord(b, s));
    SGP_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    SGP_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

using bench::llama3_8b;

struct Json {
  std::string s = "{";
  void add(const std::string& k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    s += (s.size() > 1 ? ", \"" : "\"") + k + "\": " + buf;
    std::printf("%-40s %s\n", k.c_str(), buf);
    std::fflush(stdout);
  }
  std::string str() const { return s + "}\n"; }
};

}  // namespace

int main(int argc, char** argv) {
  const char* out_path = argc > 1 ? argv[1] : "cuda_bench.json";
  Json j;
  cudaStream_t s;
  SGP_CUDA_CHECK(cudaStreamCreate(&s));

  // Ceiling 1: device-to-device copy, bytes read + written.
  {
    const size_t n = size_t(1) << 31;
    DeviceBuffer<char> a(n), b(n);
    SGP_CUDA_CHECK(cudaMemset(a.data(), 1, n));
    const double ms = median_ms(s, 3, 20, [&] {
      SGP_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), n, cudaMemcpyDeviceToDevice, s));
    });
    j.add("copy_bw_GBps", 2.0 * n / ms / 1e6);
  }
  const double copy_bw = std::strtod(j.s.substr(j.s.rfind(':') + 1).c_str(), nullptr) * 1e9;

  // Ceiling 2: a large bf16 GEMM through cuBLAS.
  {
    const int n = 8192;
    DeviceBuffer<bf16> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
    fill_uniform(a.data(), a.size(), 1.f, 1, s);
    fill_uniform(b.data(), b.size(), 1.f, 2, s);
    Gemm g(s);
    const double ms =
        median_ms(s, 3, 10, [&] { g.bf16_out(a.data(), b.data(), c.data(), n, n, n); });
    j.add("gemm_bf16_8192_TFLOPs", 2.0 * n * n * n / ms / 1e9);
  }

  // Decode-sized products (m = 1): GEMV kernel vs cuBLAS on the Llama-3-8B weight shapes,
  // rotating through 2 GiB of weights so the L2 cache never holds the next matrix.
  {
    DeviceBuffer<bf16> w(size_t(1) << 30), x(8 * 14336), y(8 * 128256);
    fill_uniform(w.data(), w.size(), 0.05f, 11, s);
    fill_uniform(x.data(), x.size(), 1.f, 12, s);
    Gemm g(s);
    const int shapes[][2] = {
        {6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336}, {128256, 4096}};
    for (int m : {1, 4, 8}) {
      for (auto& sh : shapes) {
        const size_t elems = size_t(sh[0]) * sh[1];
        const int copies = int(w.size() / elems);
        for (bool skinny : {true, false}) {
          g.set_skinny(false);
          int i = 0;
          const double ms = median_ms(s, 3, 30, [&] {
            const bf16* wi = w.data() + (i++ % copies) * elems;
            if (skinny)
              skinny_gemm(x.data(), wi, y.data(), nullptr, m, sh[0], sh[1], s);
            else
              g.bf16_out(x.data(), wi, y.data(), m, sh[0], sh[1]);
          });
          j.add(std::string(skinny ? "gemv" : "cublas") + "_m" + std::to_string(m) + "_" +
                    std::to_string(sh[0]) + "x" + std::to_string(sh[1]) + "_bw_frac",
                elems * 2.0 / (ms * 1e-3) / copy_bw);
        }
      }
    }
  }

  // G5 decode: paged attention alone, Llama-3-8B heads, one layer's pool.
  const int H = 32, Hkv = 8, D = 128, ps = 16;
  int n_sms = 0;
  SGP_CUDA_CHECK(cudaDeviceGetAttribute(&n_sms, cudaDevAttrMultiProcessorCount, 0));
  double g5_decode = 0;
  for (int B : {32, 64, 128}) {
    for (int ctx : {512, 2048}) {
      const KvLayout lay{1, Hkv, D, ps};
      const int pages_per = (ctx + ps - 1) / ps, n_pages = B * pages_per;
      DeviceBuffer<bf16> pool(size_t(n_pages) * lay.page_elems()), q(size_t(B) * H * D),
          o(size_t(B) * H * D);
      fill_uniform(pool.data(), pool.size(), 1.f, 3, s);
      fill_uniform(q.data(), q.size(), 1.f, 4, s);
      std::vector<int> seq(B), pos(B), off(B + 1), pages(n_pages);
      std::iota(pages.begin(), pages.end(), 0);
      std::shuffle(pages.begin(), pages.end(), std::mt19937(5));
      for (int i = 0; i < B; ++i) {
        seq[i] = i;
        pos[i] = ctx - 1;
        off[i] = i * pages_per;
      }
      off[B] = n_pages;
      std::vector<int> meta;
      for (auto* v : {&seq, &pos, &off, &pages}) meta.insert(meta.end(), v->begin(), v->end());
      DeviceBuffer<int> dm(meta.size());
      SGP_CUDA_CHECK(cudaMemcpy(dm.data(), meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
      PagedAttention a;
      a.q = q.data();
      a.kv = pool.data();
      a.out = o.data();
      a.layout = lay;
      a.meta = {dm.data(), dm.data() + B, dm.data() + 2 * B, dm.data() + 3 * B + 1, B};
      a.n_rows = B;
      a.n_head = H;
      a.max_keys = ctx;
      a.n_splits = attention_splits(B, Hkv, ctx, n_sms);
      DeviceBuffer<float> pacc(size_t(B) * H * a.n_splits * D), pml(size_t(B) * H * a.n_splits * 2);
      a.part_acc = pacc.data();
      a.part_ml = pml.data();
      const double ms = median_ms(s, 3, 20, [&] { paged_attention(a, s); });
      const double bytes = double(B) * ctx * Hkv * D * 2 * 2 + 2.0 * B * H * D * 2;
      const double frac = bytes / (ms * 1e-3) / copy_bw;
      j.add("attn_decode_b" + std::to_string(B) + "_ctx" + std::to_string(ctx) + "_frac", frac);
      if (ctx == 512) g5_decode = std::max(g5_decode, frac);
    }
  }
  j.add("G5_decode", g5_decode);

  // G5 prefill: one sequence of T tokens, causal, through the same paged kernel.
  for (int T : {1024, 4096}) {
    const KvLayout lay{1, Hkv, D, ps};
    const int n_pages = (T + ps - 1) / ps;
    DeviceBuffer<bf16> pool(size_t(n_pages) * lay.page_elems()), q(size_t(T) * H * D),
        o(size_t(T) * H * D);
    fill_uniform(pool.data(), pool.size(), 1.f, 6, s);
    fill_uniform(q.data(), q.size(), 1.f, 7, s);
    std::vector<int> meta(3 * T + 2 + n_pages);
    for (int t = 0; t < T; ++t) {
      meta[t] = 0;      // seq
      meta[T + t] = t;  // pos
    }
    meta[2 * T] = 0;
    meta[2 * T + 1] = n_pages;
    for (int p = 0; p < n_pages; ++p) meta[2 * T + 2 + p] = p;
    DeviceBuffer<int> dm(meta.size());
    SGP_CUDA_CHECK(cudaMemcpy(dm.data(), meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
    PagedAttention a;
    a.q = q.data();
    a.kv = pool.data();
    a.out = o.data();
    a.layout = lay;
    a.meta = {dm.data(), dm.data() + T, dm.data() + 2 * T, dm.data() + 2 * T + 2, T};
    a.n_rows = T;
    a.n_head = H;
    a.max_keys = T;
    a.n_splits = 1;
    const double flops = 4.0 * D * H * (double(T) * (T + 1) / 2);
    const double ms_plain = median_ms(s, 2, 5, [&] { paged_attention(a, s); });
    j.add("attn_prefill_cudacore_T" + std::to_string(T) + "_TFLOPs",
          flops / (ms_plain * 1e-3) / 1e12);
    const int tile = prefill_tile_tokens(H / Hkv);
    std::vector<int> tiles;
    for (int t = 0; t < T; t += tile) tiles.insert(tiles.end(), {0, t, std::min(tile, T - t)});
    DeviceBuffer<int> dt(tiles.size());
    SGP_CUDA_CHECK(cudaMemcpy(dt.data(), tiles.data(), tiles.size() * 4, cudaMemcpyHostToDevice));
    PrefillAttention p;
    p.q = q.data();
    p.kv = pool.data();
    p.out = o.data();
    p.layout = lay;
    p.meta = a.meta;
    p.n_head = H;
    p.tiles = dt.data();
    p.n_tiles = int(tiles.size() / 3);
    const double ms = median_ms(s, 3, 20, [&] { prefill_attention(p, s); });
    j.add("attn_prefill_T" + std::to_string(T) + "_TFLOPs", flops / (ms * 1e-3) / 1e12);
  }

  // G1 / G2: whole decode steps of a random Llama-3-8B-shaped model.
  {
    auto be = model::make_random_cuda_backend(llama3_8b(), 42);
    auto* b = static_cast<CudaBackend*>(be.get());
    const auto& c = b->config();
    const int ctx = 512, steps = 12, warm = 3;
    const int pages_per = (ctx + 2 + ps - 1) / ps;
    b->allocate_kv(256 * pages_per);
    fill_uniform(b->kv_pool(), size_t(b->n_pages()) * b->kv_layout().page_elems(), 1.f, 9,
                 b->stream());
    const double weight_bytes = double(b->weight_bytes()) - double(c.n_vocab) * c.n_embd * 2;
    const double kv_token_bytes = double(c.n_layer) * 2 * c.n_head_kv * c.head_dim * 2;
    j.add("weight_bytes_read_per_step", weight_bytes);
    std::mt19937 rng(1);
    // A real 512-token prefill for sequence 0 (timed as a side figure).
    {
      model::ForwardBatch pre;
      std::vector<int32_t> toks(ctx);
      for (auto& t : toks) t = rng() % c.n_vocab;
      std::vector<int32_t> pages(pages_per);
      std::iota(pages.begin(), pages.end(), 0);
      pre.seqs.push_back({toks, 0, pages, model::LogitsMode::Last});
      const double ms = median_ms(b->stream(), 1, 3, [&] { b->forward_device(pre); });
      j.add("prefill_512_tokens_per_s", ctx / (ms * 1e-3));
    }
    auto decode_ms = [&](int B, int step0) {
      std::vector<double> times;
      cudaEvent_t e0, e1;
      SGP_CUDA_CHECK(cudaEventCreate(&e0));
      SGP_CUDA_CHECK(cudaEventCreate(&e1));
      for (int step = 0; step < warm + steps; ++step) {
        model::ForwardBatch batch;
        for (int i = 0; i < B; ++i) {
          std::vector<int32_t> pages(pages_per);
          std::iota(pages.begin(), pages.end(), i * pages_per);
          batch.seqs.push_back({{int32_t(rng() % c.n_vocab)},
                                step0 + step % 2,
                                std::move(pages),
                                model::LogitsMode::Last});
        }
        SGP_CUDA_CHECK(cudaEventRecord(e0, b->stream()));
        b->forward_device(batch);
        SGP_CUDA_CHECK(cudaEventRecord(e1, b->stream()));
        SGP_CUDA_CHECK(cudaEventSynchronize(e1));
        float ms = 0;
        SGP_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (step >= warm) times.push_back(ms);
      }
      cudaEventDestroy(e0);
      cudaEventDestroy(e1);
      std::sort(times.begin(), times.end());
      return times[times.size() / 2];
    };
    // Each batch size three ways: the eager path sized to the batch (graphs off), the padded
    // bucket's launches run eagerly, and its CUDA graph replayed; G1/G2 take the backend's
    // default (SGP_CUDA_GRAPHS, else the built-in default), reported as decode_graphs_default.
    const auto default_mode = b->decode_graph_mode();
    j.add("decode_graphs_default", default_mode == DecodeGraphMode::Graph    ? 1
                                   : default_mode == DecodeGraphMode::Padded ? 2
                                                                             : 0);
    const std::pair<DecodeGraphMode, const char*> modes[] = {{DecodeGraphMode::Off, "graphs_off"},
                                                             {DecodeGraphMode::Padded, "padded"},
                                                             {DecodeGraphMode::Graph, "graphs_on"}};
    for (int B : {1, 64, 100, 256}) {
      const std::string id = "decode_b" + std::to_string(B);
      const double bytes =
          weight_bytes + B * kv_token_bytes * (ctx + 2) + double(B) * c.n_vocab * 4;
      for (const auto& [mode, name] : modes) {
        b->set_decode_graph_mode(mode);
        // Context 512: each step attends to 512 cached positions plus its own.
        const double ms = decode_ms(B, ctx);
        const double frac = bytes / (ms * 1e-3) / copy_bw;
        j.add(id + "_" + name + "_step_ms", ms);
        j.add(id + "_" + name + "_bw_frac", frac);
        if (mode != default_mode) continue;
        j.add(id + "_step_ms", ms);
        j.add(id + "_tokens_per_s", B / (ms * 1e-3));
        j.add(id + "_bw_frac", frac);
        if (B == 1) j.add("G1", frac);
        if (B == 64) j.add("G2_b64", frac);
        if (B == 256) j.add("G2_b256", frac);
      }
    }
    b->set_decode_graph_mode(DecodeGraphMode::Off);
    j.add("cuda_graph_captures", b->cuda_graph_stats().captures);
    b->set_skinny_gemm(false);
    j.add("decode_b1_cublas_only_step_ms", decode_ms(1, ctx));
    b->set_skinny_gemm(true);
    b->set_decode_graph_mode(default_mode);
    // Batch 1 through the public forward (logits copied to the host), for comparison.
    {
      model::Logits out;
      std::vector<int32_t> pages(pages_per);
      std::iota(pages.begin(), pages.end(), 0);
      int p = ctx;
      std::vector<double> t;
      for (int i = 0; i < 8; ++i) {
        model::ForwardBatch batch;
        batch.seqs.push_back({{int32_t(rng() % c.n_vocab)}, p, pages, model::LogitsMode::Last});
        cudaEvent_t e0, e1;
        cudaEventCreate(&e0);
        cudaEventCreate(&e1);
        cudaEventRecord(e0, b->stream());
        b->forward(batch, out);
        cudaEventRecord(e1, b->stream());
        cudaEventSynchronize(e1);
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        if (i >= 2) t.push_back(ms);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
      }
      std::sort(t.begin(), t.end());
      j.add("decode_b1_with_host_logits_step_ms", t[t.size() / 2]);
    }
  }
  std::FILE* f = std::fopen(out_path, "w");
  if (!f) return 1;
  std::fputs(j.str().c_str(), f);
  std::fclose(f);
  return 0;
}
