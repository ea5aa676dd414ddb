// Each CUDA kernel on fresh random inputs: checked here against a float64 loop and dumped
// (SGP_CUDA_DUMP=dir) for tools/ref_cuda_kernels.py, which checks them against float32 PyTorch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/paged_attention.h"
#include "kernels/cuda/prefill_attention.h"
#include "kernels/cuda/rope_kv.h"
#include "kernels/cuda/skinny_gemm.h"
#include "tests/cuda/gpu_test_util.h"

using namespace sgp::cuda;
using namespace sgp::cuda::test;

namespace {

double rel_err(const std::vector<float>& a, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

int n_sms() {
  int n = 0;
  SGP_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0));
  return n;
}

// A ragged batch over a shuffled page pool: seqs[i] = {start_pos, n_new}.
struct PagedCase {
  KvLayout layout;
  std::vector<int> tok_seq, tok_pos, page_off, pages;
  int max_keys = 0;
  int n_pages = 0;
};

PagedCase make_paged(KvLayout layout, const std::vector<std::pair<int, int>>& seqs) {
  PagedCase c;
  c.layout = layout;
  int total_pages = 0;
  for (auto [start, n] : seqs) total_pages += (start + n + layout.page_size - 1) / layout.page_size;
  c.n_pages = total_pages + 3;  // a few pages nobody owns
  std::vector<int> perm(c.n_pages);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng());
  int next = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    auto [start, n] = seqs[s];
    c.page_off.push_back(static_cast<int>(c.pages.size()));
    const int np = (start + n + layout.page_size - 1) / layout.page_size;
    for (int p = 0; p < np; ++p) c.pages.push_back(perm[next++]);
    for (int k = 0; k < n; ++k) {
      c.tok_seq.push_back(static_cast<int>(s));
      c.tok_pos.push_back(start + k);
    }
    c.max_keys = std::max(c.max_keys, start + n);
  }
  c.page_off.push_back(static_cast<int>(c.pages.size()));
  return c;
}

void attention_case(const char* name, int n_head, int n_head_kv, int head_dim, int page_size,
                    const std::vector<std::pair<int, int>>& seqs, int forced_splits,
                    bool tensor_core = false) {
  const KvLayout layout{1, n_head_kv, head_dim, page_size};
  PagedCase c = make_paged(layout, seqs);
  const int T = static_cast<int>(c.tok_pos.size());
  const auto q = to_bf16(randn(static_cast<size_t>(T) * n_head * head_dim));
  const auto pool = to_bf16(randn(c.n_pages * layout.page_elems()));
  auto dq = upload(q);
  auto dpool = upload(pool);
  auto dseq = upload(c.tok_seq), dpos = upload(c.tok_pos), doff = upload(c.page_off),
       dpages = upload(c.pages);
  DeviceBuffer<__nv_bfloat16> dout(q.size());
  poison(dout);
  PagedAttention a;
  a.q = dq.data();
  a.kv = dpool.data();
  a.out = dout.data();
  a.layout = layout;
  a.meta = {dseq.data(), dpos.data(), doff.data(), dpages.data(), T};
  a.n_rows = T;
  a.n_head = n_head;
  a.max_keys = c.max_keys;
  a.n_splits =
      forced_splits > 0 ? forced_splits : attention_splits(T, n_head_kv, c.max_keys, n_sms());
  DeviceBuffer<float> pacc(static_cast<size_t>(T) * n_head * a.n_splits * head_dim),
      pml(static_cast<size_t>(T) * n_head * a.n_splits * 2);
  a.part_acc = pacc.data();
  a.part_ml = pml.data();
  if (!tensor_core) {
    paged_attention(a, nullptr);
    MESSAGE(name << ": " << T << " tokens, " << a.n_splits << " splits");
  } else {
    // Tiles of consecutive tokens of one sequence, as the backend builds them.
    const int tile = prefill_tile_tokens(n_head / n_head_kv);
    std::vector<int> tiles;
    for (int t = 0; t < T;) {
      int n = 1;
      while (t + n < T && n < tile && c.tok_seq[t + n] == c.tok_seq[t]) ++n;
      tiles.insert(tiles.end(), {c.tok_seq[t], t, n});
      t += n;
    }
    auto dtiles = upload(tiles);
    PrefillAttention p;
    p.q = dq.data();
    p.kv = dpool.data();
    p.out = dout.data();
    p.layout = layout;
    p.meta = a.meta;
    p.n_head = n_head;
    p.tiles = dtiles.data();
    p.n_tiles = static_cast<int>(tiles.size() / 3);
    prefill_attention(p, nullptr);
    MESSAGE(name << ": " << T << " tokens, " << p.n_tiles << " tensor-core tiles");
  }
  const auto out = to_f32(download(dout));

  // float64 reference.
  const auto qf = to_f32(q), pf = to_f32(pool);
  std::vector<double> ref(out.size());
  const int group = n_head / n_head_kv;
  for (int t = 0; t < T; ++t) {
    const int s = c.tok_seq[t], pos = c.tok_pos[t];
    for (int h = 0; h < n_head; ++h) {
      const int kvh = h / group;
      std::vector<double> sc(pos + 1);
      double mx = -1e300;
      for (int j = 0; j <= pos; ++j) {
        const size_t base = c.pages[c.page_off[s] + j / page_size] * layout.page_elems() +
                            kvh * layout.head_elems() + (j % page_size) * head_dim;
        double d = 0;
        for (int i = 0; i < head_dim; ++i)
          d += static_cast<double>(qf[(static_cast<size_t>(t) * n_head + h) * head_dim + i]) *
               pf[base + i];
        sc[j] = d / std::sqrt(static_cast<double>(head_dim));
        mx = std::max(mx, sc[j]);
      }
      double sum = 0;
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (int i = 0; i < head_dim; ++i) {
        double acc = 0;
        for (int j = 0; j <= pos; ++j) {
          const size_t base = c.pages[c.page_off[s] + j / page_size] * layout.page_elems() +
                              layout.kv_elems() + kvh * layout.head_elems() +
                              (j % page_size) * head_dim;
          acc += sc[j] * pf[base + i];
        }
        ref[(static_cast<size_t>(t) * n_head + h) * head_dim + i] = acc / sum;
      }
    }
  }
  CHECK(all_finite(out));
  const double err = rel_err(out, ref);
  MESSAGE(name << ": relative error vs float64 " << err);
  CHECK(err < 1e-2);

  Dump dump(name);
  dump.add("q", q, {T, n_head, head_dim});
  dump.add("pool", pool, {c.n_pages, 2, n_head_kv, page_size, head_dim});
  dump.add("tok_seq", c.tok_seq, {T});
  dump.add("tok_pos", c.tok_pos, {T});
  dump.add("page_off", c.page_off, {static_cast<int64_t>(c.page_off.size())});
  dump.add("pages", c.pages, {static_cast<int64_t>(c.pages.size())});
  dump.add("out", download(dout), {T, n_head, head_dim});
}

}  // namespace

TEST_CASE("paged attention: decode batch, Llama-3-8B heads, split-KV") {
  attention_case("attention_decode", 32, 8, 128, 16,
                 {{0, 1}, {16, 1}, {99, 1}, {512, 1}, {1000, 1}}, 0);
}

TEST_CASE("paged attention: prefill chunk over a cached prefix, mixed with a decode") {
  attention_case("attention_extend", 9, 3, 64, 16, {{37, 50}, {200, 1}, {0, 23}}, 0);
  attention_case("attention_extend_split3", 9, 3, 64, 16, {{37, 50}, {200, 1}}, 3);
}

TEST_CASE("tensor-core prefill attention: extend over a cached prefix, GQA 4 and padded GQA 3") {
  attention_case("attention_prefill_gqa4", 32, 8, 128, 16, {{37, 50}, {0, 23}, {5, 1}, {0, 130}}, 0,
                 true);
  attention_case("attention_prefill_gqa3", 9, 3, 64, 16, {{37, 50}, {200, 3}}, 0, true);
  attention_case("attention_prefill_mha_page7", 4, 4, 128, 7, {{10, 70}}, 0, true);
}

TEST_CASE("paged attention: head_dim 256, 8 heads per KV head, odd page size") {
  attention_case("attention_d256", 16, 2, 256, 7, {{5, 9}, {60, 1}}, 0);
}

TEST_CASE("residual add + RMSNorm, all rows and selected rows") {
  const int T = 7, E = 4096;
  const float eps = 1e-5f;
  const auto x = randn(static_cast<size_t>(T) * E);
  const auto delta = to_bf16(randn(x.size()));
  const auto w = to_bf16(randn(E, 0.5f));
  auto dx = upload(x);
  auto dd = upload(delta);
  auto dw = upload(w);
  DeviceBuffer<__nv_bfloat16> dout(x.size());
  poison(dout);
  add_rms_norm(dx.data(), dd.data(), dw.data(), dout.data(), nullptr, T, E, eps, nullptr);
  const auto out = to_f32(download(dout));
  const auto x_after = download(dx);
  std::vector<double> ref(out.size()), xref(out.size());
  const auto df = to_f32(delta), wf = to_f32(w);
  for (int t = 0; t < T; ++t) {
    double ss = 0;
    for (int i = 0; i < E; ++i) {
      xref[t * E + i] = static_cast<double>(x[t * E + i]) + df[t * E + i];
      ss += xref[t * E + i] * xref[t * E + i];
    }
    const double inv = 1.0 / std::sqrt(ss / E + eps);
    for (int i = 0; i < E; ++i) ref[t * E + i] = xref[t * E + i] * inv * wf[i];
  }
  CHECK(rel_err(out, ref) < 1e-2);
  CHECK(rel_err(x_after, xref) < 1e-6);

  // Selected rows (the final norm before the LM head): no delta, rows 5 and 2.
  const std::vector<int> rows{5, 2};
  auto drows = upload(rows);
  DeviceBuffer<__nv_bfloat16> dsel(2 * E);
  poison(dsel);
  add_rms_norm(dx.data(), nullptr, dw.data(), dsel.data(), drows.data(), 2, E, eps, nullptr);
  const auto sel = to_f32(download(dsel));
  std::vector<double> sref(sel.size());
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < E; ++i) sref[r * E + i] = ref[rows[r] * E + i];
  CHECK(rel_err(sel, sref) < 1e-2);

  Dump dump("rms_norm");
  dump.add("x", x, {T, E});
  dump.add("delta", delta, {T, E});
  dump.add("weight", w, {E});
  dump.add("out", download(dout), {T, E});
  dump.add("x_after", x_after, {T, E});
}

TEST_CASE("RoPE (Hugging Face and GGUF pairing) fused with the K/V page write") {
  for (bool neox : {true, false}) {
    const int H = 32, Hkv = 8, D = 128;
    const KvLayout layout{1, Hkv, D, 16};
    PagedCase c = make_paged(layout, {{3, 20}, {700, 1}});
    const int T = static_cast<int>(c.tok_pos.size());
    const auto qkv = to_bf16(randn(static_cast<size_t>(T) * (H + 2 * Hkv) * D));
    std::vector<float> inv(D / 2);
    for (int i = 0; i < D / 2; ++i) inv[i] = std::pow(500000.f, -2.f * i / D);
    auto dqkv = upload(qkv);
    auto dinv = upload(inv);
    auto dseq = upload(c.tok_seq), dpos = upload(c.tok_pos), doff = upload(c.page_off),
         dpages = upload(c.pages);
    DeviceBuffer<__nv_bfloat16> dq(static_cast<size_t>(T) * H * D),
        dpool(c.n_pages * layout.page_elems());
    poison(dq);
    poison(dpool);
    const BatchMeta meta{dseq.data(), dpos.data(), doff.data(), dpages.data(), T};
    DeviceBuffer<float2> dcs(static_cast<size_t>(T) * D / 2);
    rope_table(dpos.data(), dinv.data(), dcs.data(), T, D / 2, nullptr);
    rope_store_kv(dqkv.data(), nullptr, dq.data(), dpool.data(), layout, meta, dcs.data(), H, neox,
                  nullptr);
    const auto q = to_f32(download(dq));
    CHECK(all_finite(q));
    // Spot check against float64: every written K slot finite, q rotation exact to bf16.
    const auto in = to_f32(qkv);
    std::vector<double> qref(q.size());
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < H; ++h)
        for (int j = 0; j < D / 2; ++j) {
          const int a = neox ? j : 2 * j, b = neox ? j + D / 2 : 2 * j + 1;
          const double xa = in[(static_cast<size_t>(t) * (H + 2 * Hkv) + h) * D + a];
          const double xb = in[(static_cast<size_t>(t) * (H + 2 * Hkv) + h) * D + b];
          const double ang = static_cast<double>(c.tok_pos[t]) * inv[j];
          qref[(static_cast<size_t>(t) * H + h) * D + a] = xa * std::cos(ang) - xb * std::sin(ang);
          qref[(static_cast<size_t>(t) * H + h) * D + b] = xb * std::cos(ang) + xa * std::sin(ang);
        }
    CHECK(rel_err(q, qref) < 1e-2);
    Dump dump(neox ? "rope_neox" : "rope_gguf");
    dump.add("qkv", qkv, {T, H + 2 * Hkv, D});
    dump.add("inv_freq", inv, {D / 2});
    dump.add("tok_seq", c.tok_seq, {T});
    dump.add("tok_pos", c.tok_pos, {T});
    dump.add("page_off", c.page_off, {static_cast<int64_t>(c.page_off.size())});
    dump.add("pages", c.pages, {static_cast<int64_t>(c.pages.size())});
    dump.add("q_out", download(dq), {T, H, D});
    dump.add("pool", download(dpool), {c.n_pages, 2, Hkv, 16, D});
  }
}

TEST_CASE("SiLU·mul, embedding gather, cuBLAS GEMMs") {
  const int T = 5, F = 14336, V = 1000, E = 512, N = 1000;
  const auto gu = to_bf16(randn(static_cast<size_t>(T) * 2 * F, 2.f));
  auto dgu = upload(gu);
  DeviceBuffer<__nv_bfloat16> dact(static_cast<size_t>(T) * F);
  poison(dact);
  silu_mul(dgu.data(), dact.data(), T, F, nullptr);
  const auto act = to_f32(download(dact));
  CHECK(all_finite(act));

  const auto table = to_bf16(randn(static_cast<size_t>(V) * E));
  std::vector<int> tokens(T);
  for (auto& t : tokens) t = static_cast<int>(rng()() % V);
  auto dtable = upload(table);
  auto dtok = upload(tokens);
  DeviceBuffer<float> demb(static_cast<size_t>(T) * E);
  poison(demb);
  embed_tokens(dtable.data(), dtok.data(), demb.data(), T, E, nullptr);
  const auto emb = download(demb);
  for (int t = 0; t < T; ++t)
    CHECK(emb[t * E + 3] == __bfloat162float(table[static_cast<size_t>(tokens[t]) * E + 3]));

  const int M = 33;
  const auto x = to_bf16(randn(static_cast<size_t>(M) * E));
  const auto w = to_bf16(randn(static_cast<size_t>(N) * E, 0.05f));
  auto dx = upload(x);
  auto dw = upload(w);
  DeviceBuffer<__nv_bfloat16> dy(static_cast<size_t>(M) * N);
  DeviceBuffer<float> dyf(static_cast<size_t>(M) * N);
  poison(dy);
  poison(dyf);
  Gemm gemm(nullptr);
  gemm.bf16_out(dx.data(), dw.data(), dy.data(), M, N, E);
  gemm.f32_out(dx.data(), dw.data(), dyf.data(), M, N, E);
  const auto y = to_f32(download(dy));
  const auto yf = download(dyf);
  const auto xf = to_f32(x), wf = to_f32(w);
  std::vector<double> ref(y.size());
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int k = 0; k < E; ++k) s += static_cast<double>(xf[m * E + k]) * wf[n * E + k];
      ref[m * N + n] = s;
    }
  CHECK(rel_err(y, ref) < 1e-2);
  CHECK(rel_err(yf, ref) < 1e-4);

  // The GEMV kernel for decode-sized products, at 1 and 3 rows.
  std::vector<__nv_bfloat16> skinny_y;
  for (int ms : {1, 3}) {
    DeviceBuffer<__nv_bfloat16> ys(static_cast<size_t>(ms) * N);
    DeviceBuffer<float> ysf(static_cast<size_t>(ms) * N);
    poison(ys);
    poison(ysf);
    skinny_gemm(dx.data(), dw.data(), ys.data(), nullptr, ms, N, E, nullptr);
    skinny_gemm(dx.data(), dw.data(), nullptr, ysf.data(), ms, N, E, nullptr);
    std::vector<double> sref(ref.begin(), ref.begin() + static_cast<size_t>(ms) * N);
    CHECK(rel_err(to_f32(download(ys)), sref) < 1e-2);
    CHECK(rel_err(download(ysf), sref) < 1e-4);
    if (ms == 3) skinny_y = download(ys);
  }

  Dump dump("misc");
  dump.add("gate_up", gu, {T, 2 * F});
  dump.add("act", download(dact), {T, F});
  dump.add("table", table, {V, E});
  dump.add("tokens", tokens, {T});
  dump.add("emb", emb, {T, E});
  dump.add("x", x, {M, E});
  dump.add("w", w, {N, E});
  dump.add("y", download(dy), {M, N});
  dump.add("yf", yf, {M, N});
  dump.add("y_skinny3", skinny_y, {3, N});
}
