// CUDA graphs of decode steps: replays give the logits of the same bucketed launches run eagerly
// bit for bit, and those of the eager path sized to the batch within bf16 rounding, over many
// steps crossing pages, padded batch sizes, moved buffers and mixed batches (which run eagerly);
// and the per-row split decode attention the graphs use vs a float64 loop.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/decode_graph.h"
#include "kernels/cuda/paged_attention.h"
#include "tests/cuda/gpu_test_util.h"

using namespace sgp;
using namespace sgp::model;
using namespace sgp::cuda::test;
using sgp::cuda::CudaBackend;
using sgp::cuda::DecodeGraphMode;

namespace {

// Group of 4 query heads per KV head, three layers: small enough for hundreds of steps.
ModelConfig graph_config() {
  ModelConfig c;
  c.arch = "llama";
  c.n_vocab = 1000;
  c.n_embd = 256;
  c.n_layer = 3;
  c.n_head = 8;
  c.n_head_kv = 2;
  c.head_dim = 64;
  c.n_ff = 384;
  c.rope_theta = 10000.f;
  return c;
}

double rel_err(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

int argmax(const float* v, int n) {
  return static_cast<int>(std::max_element(v, v + n) - v);
}

// The same model three times (same seed, so the same weights): the eager path sized to each
// batch, the bucketed launches run eagerly, and graph replays. Every batch goes to all three.
struct Trio {
  std::unique_ptr<Backend> owned[3];
  CudaBackend* b[3];
  int V = 0;
  // Graph vs eager over all rows compared: relative error (overall and of the worst row) and
  // argmax agreement.
  double num = 0, den = 0, worst_row = 0;
  long rows = 0, agree = 0, bitwise_rows = 0;

  explicit Trio(int n_pages, uint64_t seed = 21) {
    const DecodeGraphMode modes[3] = {DecodeGraphMode::Off, DecodeGraphMode::Padded,
                                      DecodeGraphMode::Graph};
    for (int i = 0; i < 3; ++i) {
      owned[i] = make_random_cuda_backend(graph_config(), seed);
      b[i] = static_cast<CudaBackend*>(owned[i].get());
      b[i]->set_decode_graph_mode(modes[i]);
      b[i]->allocate_kv(n_pages);
    }
    V = b[0]->config().n_vocab;
  }
  CudaBackend& eager() { return *b[0]; }
  CudaBackend& padded() { return *b[1]; }
  CudaBackend& graph() { return *b[2]; }

  // Runs `batch` on all three; checks graph == padded bit for bit and graph ~ eager; returns the
  // graph backend's logits.
  Logits run(const ForwardBatch& batch) {
    Logits out[3];
    for (int i = 0; i < 3; ++i) b[i]->forward(batch, out[i]);
    for (int i = 1; i < 3; ++i) {
      REQUIRE(out[i].n_rows == out[0].n_rows);
      REQUIRE(out[i].data.size() == out[0].data.size());
    }
    const Logits& g = out[2];
    REQUIRE(all_finite(g.data));
    const size_t n = g.data.size();
    const bool same = std::memcmp(g.data.data(), out[1].data.data(), n * sizeof(float)) == 0;
    if (!same)
      MESSAGE("graph vs padded eager: relative error "
              << rel_err(g.data.data(), out[1].data.data(), n));
    CHECK(same);
    for (int r = 0; r < g.n_rows; ++r) {
      for (int k = 0; k < V; ++k) {
        const double d = static_cast<double>(g.row(r)[k]) - out[0].row(r)[k];
        num += d * d;
        den += static_cast<double>(out[0].row(r)[k]) * out[0].row(r)[k];
      }
      worst_row = std::max(worst_row, rel_err(g.row(r), out[0].row(r), V));
      agree += argmax(g.row(r), V) == argmax(out[0].row(r), V);
      ++rows;
    }
    bitwise_rows += same ? g.n_rows : 0;
    return g;
  }
  void check_vs_eager(const char* what) {
    const double frac = rows ? static_cast<double>(agree) / rows : 1.0;
    const double err = std::sqrt(num / std::max(den, 1e-30));
    MESSAGE(what << ": graph vs eager path: relative error " << err << " (worst row " << worst_row
                 << "), argmax agreement " << frac << " over " << rows << " rows (" << bitwise_rows
                 << " bitwise equal to the padded eager launches)");
    CHECK(err < 1e-2);
    CHECK(frac >= 0.9);
  }
};

struct Seq {
  std::vector<int32_t> pages;
  int len = 0;  // tokens in the KV cache
  int32_t next = 0;
};

// n sequences with prompts of 1..max_prompt tokens (prefilled in one ragged batch) and page
// tables from a shuffled pool, room for `steps` decode tokens each.
std::vector<Seq> prefill(Trio& t, int n, int max_prompt, int steps,
                         std::vector<int32_t>& free_pages) {
  const int ps = t.graph().page_size();
  std::vector<Seq> seqs(n);
  ForwardBatch batch;
  for (auto& s : seqs) {
    const int plen = 1 + static_cast<int>(rng()() % max_prompt);
    const int np = (plen + steps + ps - 1) / ps;
    REQUIRE(static_cast<int>(free_pages.size()) >= np);
    s.pages.assign(free_pages.end() - np, free_pages.end());
    free_pages.resize(free_pages.size() - np);
    std::vector<int32_t> toks(plen);
    for (auto& x : toks) x = static_cast<int32_t>(rng()() % t.V);
    batch.seqs.push_back({toks, 0, s.pages, LogitsMode::Last});
    s.len = plen;
  }
  const Logits out = t.run(batch);
  for (int i = 0; i < n; ++i) seqs[i].next = argmax(out.row(i), t.V);
  return seqs;
}

// One decode step over seqs[idx...] in that order; each takes its greedy token (from the graph
// backend, fed to all three so their inputs stay identical).
void decode_step(Trio& t, std::vector<Seq>& seqs, const std::vector<int>& idx) {
  ForwardBatch batch;
  for (int i : idx) batch.seqs.push_back({{seqs[i].next}, seqs[i].len, seqs[i].pages});
  const Logits out = t.run(batch);
  for (size_t r = 0; r < idx.size(); ++r) {
    Seq& s = seqs[idx[r]];
    ++s.len;
    s.next = argmax(out.row(static_cast<int>(r)), t.V);
  }
}

std::vector<int32_t> shuffled(int n) {
  std::vector<int32_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng());
  return p;
}

}  // namespace

TEST_CASE("graph replays match eager decode steps at batch sizes 1, 3, 17, 64") {
  for (int B : {1, 3, 17, 64}) {
    CAPTURE(B);
    const int steps = 40;  // from prompts of 1..45 tokens: every sequence crosses 2-3 pages
    const int n_pages = B * ((45 + steps + 15) / 16 + 1);
    Trio t(n_pages);
    auto free_pages = shuffled(n_pages);
    auto seqs = prefill(t, B, 45, steps, free_pages);
    for (int step = 0; step < steps; ++step) {
      std::vector<int> idx(B);
      std::iota(idx.begin(), idx.end(), 0);
      std::shuffle(idx.begin(), idx.end(), rng());  // rows change places every step
      decode_step(t, seqs, idx);
    }
    t.check_vs_eager(("batch " + std::to_string(B)).c_str());
    const auto& gs = t.graph().cuda_graph_stats();
    // The prefill is a graph step too when every prompt is one token long.
    CHECK(gs.captures == 1);
    CHECK(gs.replays >= steps - 1);  // the first decode step runs eagerly before the capture
    CHECK(t.padded().cuda_graph_stats().padded_runs >= steps);
    CHECK(t.eager().cuda_graph_stats().replays == 0);
    CHECK(t.eager().cuda_graph_stats().padded_runs == 0);
  }
}

TEST_CASE("varying batch sizes reuse one graph per bucket; mixed batches run eagerly") {
  const int n = 40, steps = 60;
  const int n_pages = n * ((30 + steps + 8 + 15) / 16 + 1);
  Trio t(n_pages, 5);
  auto free_pages = shuffled(n_pages);
  auto seqs = prefill(t, n, 30, steps + 8, free_pages);  // 8: room for the mixed batches
  std::set<int> buckets;
  std::vector<int> left(n, steps);  // decode tokens each sequence may still take
  for (int step = 0; step < steps; ++step) {
    // A random subset of the sequences that have room left, in random order.
    std::vector<int> idx;
    for (int i = 0; i < n; ++i)
      if (left[i] > 0 && rng()() % 3 != 0) idx.push_back(i);
    if (idx.empty()) continue;
    std::shuffle(idx.begin(), idx.end(), rng());
    idx.resize(1 + rng()() % idx.size());
    for (int i : idx) --left[i];
    buckets.insert(cuda::DecodeGraphs::bucket_for(static_cast<int>(idx.size())));
    decode_step(t, seqs, idx);
  }
  const auto replays = t.graph().cuda_graph_stats().replays;
  CHECK(t.graph().cuda_graph_stats().captures == static_cast<long>(buckets.size()));
  MESSAGE(buckets.size() << " buckets captured for " << replays << " replays");

  // A prefill chunk beside decodes, and a decode wanting every row: both run eagerly (no replay)
  // on every backend; the graph and padded backends, whose KV histories are the same bits, give
  // the same bits again.
  for (LogitsMode mode : {LogitsMode::Last, LogitsMode::All}) {
    ForwardBatch mixed;
    Seq& a = seqs[0];
    Seq& b = seqs[1];
    if (mode == LogitsMode::Last) {
      mixed.seqs.push_back({{a.next, 7, 8, 9}, a.len, a.pages});  // 4-token chunk
      a.len += 4;
    } else {
      mixed.seqs.push_back({{a.next}, a.len, a.pages, LogitsMode::All});
      a.len += 1;
    }
    mixed.seqs.push_back({{b.next}, b.len, b.pages});
    b.len += 1;
    const Logits out = t.run(mixed);
    a.next = argmax(out.row(0), t.V);
    b.next = argmax(out.row(out.n_rows - 1), t.V);
  }
  CHECK(t.graph().cuda_graph_stats().replays == replays);
  t.check_vs_eager("varying batches");
}

TEST_CASE("graphs are captured again when activation buffers or the KV pool move") {
  const int steps = 6;
  Trio t(256, 9);
  auto free_pages = shuffled(200);  // pages 200..255 stay free for the long prompt below
  auto seqs = prefill(t, 5, 20, 3 * steps, free_pages);
  std::vector<int> idx(5);
  std::iota(idx.begin(), idx.end(), 0);
  for (int s = 0; s < steps; ++s) decode_step(t, seqs, idx);
  CHECK(t.graph().cuda_graph_stats().captures == 1);

  // A 600-token prefill grows every activation buffer: the bucket's graph must not replay into
  // the freed ones.
  ForwardBatch big;
  std::vector<int32_t> toks(600);
  for (auto& x : toks) x = static_cast<int32_t>(rng()() % t.V);
  std::vector<int32_t> pages(38);
  std::iota(pages.begin(), pages.end(), 200);
  big.seqs.push_back({toks, 0, pages, LogitsMode::Last});
  t.run(big);
  for (int s = 0; s < steps; ++s) decode_step(t, seqs, idx);
  CHECK(t.graph().cuda_graph_stats().captures == 2);

  // The GEMM dispatch is part of the graph: switching the GEMV off captures again.
  for (int i = 0; i < 3; ++i) t.b[i]->set_skinny_gemm(false);
  for (int s = 0; s < steps; ++s) decode_step(t, seqs, idx);
  CHECK(t.graph().cuda_graph_stats().captures == 3);
  t.check_vs_eager("after moves");

  // A new pool (the old KV is gone): fresh sequences, captured once more.
  for (int i = 0; i < 3; ++i) t.b[i]->allocate_kv(64);
  auto fresh = shuffled(64);
  auto seqs2 = prefill(t, 5, 10, steps, fresh);
  for (int s = 0; s < steps; ++s) decode_step(t, seqs2, idx);
  CHECK(t.graph().cuda_graph_stats().captures == 4);
}

TEST_CASE("tokens drawn on the device after a replay match the padded eager launches") {
  const int B = 12, steps = 20;
  const int n_pages = B * 4;
  Trio t(n_pages, 13);
  auto free_pages = shuffled(n_pages);
  auto seqs = prefill(t, B, 20, steps, free_pages);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  int same_as_eager = 0, total = 0;
  for (int step = 0; step < steps; ++step) {
    ForwardBatch batch;
    for (auto& s : seqs) {
      SeqChunk c({s.next}, s.len, s.pages);
      c.sample_on_device = true;
      c.sample.temperature = step % 2 ? 0.8f : 0.0f;
      c.sample.min_p = 0.05f;
      c.sample.u = u01(rng());
      batch.seqs.push_back(c);
    }
    Logits out[3];
    for (int i = 0; i < 3; ++i) t.b[i]->forward(batch, out[i]);
    REQUIRE(out[2].sampled.size() == static_cast<size_t>(B));
    CHECK(out[2].sampled == out[1].sampled);
    for (int r = 0; r < B; ++r) {
      same_as_eager += out[2].sampled[r] == out[0].sampled[r];
      ++total;
      seqs[r].next = out[2].sampled[r];
      ++seqs[r].len;
    }
  }
  MESSAGE("device draws equal to the eager path's: " << same_as_eager << " of " << total);
  CHECK(same_as_eager >= total * 9 / 10);
  CHECK(t.graph().cuda_graph_stats().replays >= steps - 1);
}

TEST_CASE("decode attention with splits chosen per row on the device matches a float64 loop") {
  const int H = 8, Hkv = 2, D = 64, ps = 16;
  const int group = H / Hkv;
  const cuda::KvLayout lay{1, Hkv, D, ps};
  // Ragged lengths: one key, within one split, and long enough to split under every rule.
  const std::vector<int> lens = {1, 17, 128, 129, 700, 2048, 2049, 3000, 5000, 33, 1};
  const int n = static_cast<int>(lens.size());
  std::vector<int> seq(n), pos(n), off(n + 1);
  int n_pages = 0;
  for (int i = 0; i < n; ++i) {
    seq[i] = i;
    pos[i] = lens[i] - 1;
    off[i] = n_pages;
    n_pages += (lens[i] + ps - 1) / ps;
  }
  off[n] = n_pages;
  std::vector<int> pages = shuffled(n_pages);
  const auto pool = randn(static_cast<size_t>(n_pages) * lay.page_elems());
  const auto q = randn(static_cast<size_t>(n) * H * D);
  const auto pool_b = to_bf16(pool), q_b = to_bf16(q);
  const auto pool_r = to_f32(pool_b), q_r = to_f32(q_b);  // what the kernel sees

  std::vector<double> want(static_cast<size_t>(n) * H * D);
  for (int t = 0; t < n; ++t) {
    for (int h = 0; h < H; ++h) {
      const int kvh = h / group;
      std::vector<double> s(lens[t]);
      double mx = -1e300;
      for (int j = 0; j < lens[t]; ++j) {
        const size_t k = pages[off[t] + j / ps] * lay.page_elems() + kvh * lay.head_elems() +
                         static_cast<size_t>(j % ps) * D;
        double d = 0;
        for (int e = 0; e < D; ++e)
          d += q_r[(static_cast<size_t>(t) * H + h) * D + e] * pool_r[k + e];
        s[j] = d / std::sqrt(static_cast<double>(D));
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& x : s) sum += (x = std::exp(x - mx));
      for (int j = 0; j < lens[t]; ++j) {
        const size_t v = pages[off[t] + j / ps] * lay.page_elems() + lay.kv_elems() +
                         kvh * lay.head_elems() + static_cast<size_t>(j % ps) * D;
        for (int e = 0; e < D; ++e)
          want[(static_cast<size_t>(t) * H + h) * D + e] += s[j] / sum * pool_r[v + e];
      }
    }
  }

  std::vector<int> meta;
  for (auto* v : {&seq, &pos, &off, &pages}) meta.insert(meta.end(), v->begin(), v->end());
  auto d_meta = upload(meta);
  auto d_pool = upload(pool_b);
  auto d_q = upload(q_b);
  int n_sms = 0;
  SGP_CUDA_CHECK(cudaDeviceGetAttribute(&n_sms, cudaDevAttrMultiProcessorCount, 0));
  // The rules of the smallest and the largest bucket, and a single split.
  for (int bucket : {1, 256, 0}) {
    CAPTURE(bucket);
    cuda::GraphSplits sp =
        bucket ? cuda::graph_attention_splits(bucket, Hkv, n_sms) : cuda::GraphSplits{1, 128};
    cuda::DeviceBuffer<__nv_bfloat16> out(static_cast<size_t>(n) * H * D);
    cuda::DeviceBuffer<float> acc(static_cast<size_t>(n) * H * sp.n_splits * D),
        ml(static_cast<size_t>(n) * H * sp.n_splits * 2);
    poison(out);
    poison(acc);
    poison(ml);
    cuda::PagedAttention a;
    a.q = d_q.data();
    a.kv = d_pool.data();
    a.out = out.data();
    a.part_acc = acc.data();
    a.part_ml = ml.data();
    a.layout = lay;
    const int* m = d_meta.data();
    a.meta = {m, m + n, m + 2 * n, m + 3 * n + 1, n};
    a.n_rows = n;
    a.n_head = H;
    a.n_splits = sp.n_splits;
    a.min_chunk = sp.min_chunk;
    cuda::paged_attention(a, nullptr);
    const auto got = to_f32(download(out));
    double num = 0, den = 0, worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double d = got[i] - want[i];
      num += d * d;
      den += want[i] * want[i];
      worst = std::max(worst, std::abs(d));
    }
    const double err = std::sqrt(num / den);
    MESSAGE("splits " << sp.n_splits << ", min chunk " << sp.min_chunk << ": relative error " << err
                      << ", worst abs " << worst);
    CHECK(all_finite(got));
    CHECK(err < 1e-2);
  }
}
