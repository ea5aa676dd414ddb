// DecodeGraphs: bucketed decode steps staged at fixed addresses, captured lazily and replayed.
#include "kernels/cuda/decode_graph.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/paged_attention.h"
#include "sgp/error.h"

namespace sgp::cuda {

int DecodeGraphs::bucket_for(int n) {
  for (int b : kBuckets)
    if (b >= n) return b;
  return 0;
}

DecodeGraphs::DecodeGraphs(cudaStream_t stream, DecodeGraphMode fallback)
    : stream_(stream), mode_(fallback) {
  if (const char* e = std::getenv("SGP_CUDA_GRAPHS")) {
    const std::string v = e;
    if (v == "0" || v == "off")
      mode_ = DecodeGraphMode::Off;
    else if (v == "padded")
      mode_ = DecodeGraphMode::Padded;
    else if (v == "1" || v == "on")
      mode_ = DecodeGraphMode::Graph;
  }
}

DecodeGraphs::~DecodeGraphs() {
  clear();
  for (int i = 0; i < 2; ++i) {
    if (host_free_[i]) {
      cudaEventSynchronize(host_free_[i]);
      cudaEventDestroy(host_free_[i]);
    }
    if (host_[i]) cudaFreeHost(host_[i]);
  }
}

void DecodeGraphs::set_mode(DecodeGraphMode m) {
  mode_ = m;
  if (m != DecodeGraphMode::Graph) clear();
}

void DecodeGraphs::clear() {
  for (auto& g : graphs_) {
    if (g.exec) cudaGraphExecDestroy(g.exec);
    g.exec = nullptr;
    g.key.clear();
  }
}

void DecodeGraphs::reserve_staging(size_t n) {
  if (n <= cap_) return;
  // Room for the largest bucket at 64 pages (1024 tokens at page size 16) per row up front;
  // beyond that, doubling. The device buffer moves, so every graph is captured again.
  const size_t cap = std::max({n, 2 * cap_, size_t(4 * 256 + 2 + 256 * 64)});
  for (int i = 0; i < 2; ++i) {
    if (host_free_[i]) SGP_CUDA_CHECK(cudaEventSynchronize(host_free_[i]));
    if (host_[i]) cudaFreeHost(host_[i]);
    host_[i] = nullptr;
  }
  cap_ = 0;
  clear();
  for (int i = 0; i < 2; ++i) {
    SGP_CUDA_CHECK(cudaHostAlloc(&host_[i], cap * sizeof(int), cudaHostAllocDefault));
    if (!host_free_[i])
      SGP_CUDA_CHECK(cudaEventCreateWithFlags(&host_free_[i], cudaEventDisableTiming));
  }
  // The stream may still read the old buffer (a replay in flight): let it finish first.
  SGP_CUDA_CHECK(cudaStreamSynchronize(stream_));
  staging_.resize(cap);
  cap_ = cap;
}

int DecodeGraphs::try_run(CudaBackend& b, const model::ForwardBatch& batch) {
  if (mode_ == DecodeGraphMode::Off || batch.seqs.empty()) return -1;
  const int n = static_cast<int>(batch.seqs.size());
  const int bucket = bucket_for(n);
  if (bucket == 0) return -1;
  const int ps = b.page_size();
  size_t n_pages = 0;
  for (const auto& s : batch.seqs) {
    if (s.tokens.size() != 1 || s.logits != model::LogitsMode::Last) return -1;
    n_pages += static_cast<size_t>(s.start_pos / ps + 1);
  }
  const size_t n_ints = 4 * static_cast<size_t>(bucket) + 1 + n_pages + 1;
  reserve_staging(n_ints);

  // Padding rows attend to one key of their own in a scratch page no sequence owns (the pool's
  // extra page), so they read and write nothing of the real rows.
  SGP_CUDA_CHECK(cudaEventSynchronize(host_free_[next_]));
  int* tok = host_[next_];
  int* pos = tok + bucket;
  int* seq = pos + bucket;
  int* page_off = seq + bucket;
  int* pages = page_off + bucket + 1;
  int pi = 0;
  for (int i = 0; i < n; ++i) {
    const auto& s = batch.seqs[i];
    tok[i] = s.tokens[0];
    pos[i] = s.start_pos;
    seq[i] = i;
    page_off[i] = pi;
    const int np = s.start_pos / ps + 1;
    std::memcpy(pages + pi, s.pages.data(), np * sizeof(int));
    pi += np;
  }
  pages[pi] = b.scratch_page();
  for (int i = n; i < bucket; ++i) {
    tok[i] = 0;
    pos[i] = 0;
    seq[i] = i;
    page_off[i] = pi;
  }
  page_off[bucket] = pi + 1;
  SGP_CUDA_CHECK(
      cudaMemcpyAsync(staging_.data(), tok, n_ints * sizeof(int), cudaMemcpyHostToDevice, stream_));
  SGP_CUDA_CHECK(cudaEventRecord(host_free_[next_], stream_));
  next_ ^= 1;
  // Inputs drawn on the device by the previous step (SeqChunk::input_from_prev_row; their host
  // value is a placeholder) are copied over the staged ids, outside the graph.
  b.resolve_inputs(batch, staging_.data());

  const int* d = staging_.data();
  ForwardPlan plan;
  plan.n_tokens = bucket;
  plan.n_rows = bucket;
  plan.meta = {d + 2 * bucket, d + bucket, d + 3 * bucket, d + 4 * bucket + 1, bucket};
  plan.tokens = d;
  plan.n_dec = bucket;
  const GraphSplits splits =
      graph_attention_splits(bucket, b.config().n_head_kv, b.multiprocessors());
  plan.n_splits = splits.n_splits;
  plan.min_chunk = splits.min_chunk;

  if (mode_ == DecodeGraphMode::Padded) {
    b.launch_forward(plan);
    ++stats_.padded_runs;
    return n;
  }
  int idx = 0;
  while (kBuckets[idx] != bucket) ++idx;
  Graph& g = graphs_[idx];
  if (!g.exec || g.key != b.graph_key(staging_.data())) {
    // This step runs the launches eagerly (lazily loaded kernels and cuBLAS's choices settle
    // outside the capture), then they are captured for the next steps: capture runs nothing.
    // The buffers are sized first, so that the capture moves none under this step's results.
    reserve_buffers(b, plan);
    b.launch_forward(plan);
    ++stats_.padded_runs;
    try {
      capture(b, plan, g);
    } catch (const Error& e) {
      // A graph that cannot be captured must not take the serving down: this step ran eagerly
      // already, and every later one takes the eager path.
      if (!warned_)
        std::fprintf(stderr, "sgp: CUDA graph capture failed, decode steps run eagerly: %s\n",
                     e.what());
      warned_ = true;
      set_mode(DecodeGraphMode::Off);
    }
    return n;
  }
  b.prof_.mark("decode_graph", stream_);
  SGP_CUDA_CHECK(cudaGraphLaunch(g.exec, stream_));
  b.prof_.finish(stream_);
  ++stats_.replays;
  return n;
}

void DecodeGraphs::reserve_buffers(CudaBackend& b, const ForwardPlan& plan) {
  // Every buffer a graph addresses is sized for the largest bucket from the first capture on, so
  // that capturing a larger bucket later does not move them under the smaller buckets' graphs
  // (the memory is what a 256-row decode step needs anyway; cuda_kv_budget leaves room for it).
  // Nothing may allocate or move while capturing; the key records where the buffers are.
  constexpr int kMax = kBuckets[kNumBuckets - 1];
  long most = 0;  // rows x splits, the partials' size, over every bucket
  for (int rows : kBuckets)
    most = std::max<long>(
        most, static_cast<long>(rows) *
                  graph_attention_splits(rows, b.config().n_head_kv, b.multiprocessors()).n_splits);
  ForwardPlan largest = plan;
  largest.n_tokens = largest.n_rows = largest.n_dec = kMax;
  largest.n_splits = static_cast<int>(std::max<long>(2, (most + kMax - 1) / kMax));
  b.reserve_activations(largest);
  b.reserve_activations(plan);
}

void DecodeGraphs::capture(CudaBackend& b, const ForwardPlan& plan, Graph& g) {
  if (g.exec) cudaGraphExecDestroy(g.exec);
  g.exec = nullptr;
  g.key.clear();
  const std::vector<uintptr_t> key = b.graph_key(staging_.data());
  cudaGraph_t graph = nullptr;
  SGP_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  b.prof_.pause(true);
  try {
    b.launch_forward(plan);
  } catch (...) {
    b.prof_.pause(false);
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  b.prof_.pause(false);
  SGP_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  const cudaError_t st = cudaGraphInstantiate(&g.exec, graph, 0);
  cudaGraphDestroy(graph);
  if (st != cudaSuccess) {
    g.exec = nullptr;
    SGP_CUDA_CHECK(st);
  }
  // Uploaded now, so that the first replay costs what the others do.
  SGP_CUDA_CHECK(cudaGraphUpload(g.exec, stream_));
  g.key = key;
  ++stats_.captures;
}

}  // namespace sgp::cuda
