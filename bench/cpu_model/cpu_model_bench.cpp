// cpu_model_bench: C1 (decode vs memory bandwidth), C4 (512-token prefill) and C3 (peak RSS).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/cpu/fp16.h"
#include "kernels/cpu/ggml_types.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/weight_arena.h"
#include "model/backend.h"
#include "sgp/error.h"
#include "tests/model/gguf_writer.h"

using namespace sgp::model;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
  }
  return -1;
}

std::string shell(const char* cmd) {
  std::string out;
  if (FILE* p = popen(cmd, "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Multi-threaded read bandwidth (bytes/s): every thread sums its slice of a large buffer.
double read_bandwidth(sgp::kernels::ThreadPool& pool, const float* buf, size_t n, int reps) {
  const int parts = pool.size() * 8;
  const size_t per = n / parts / 64 * 64;
  std::vector<float> sink(parts);
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    pool.parallel_for(parts, [&](int p, int) {
      const float* x = buf + per * p;
#if defined(__AVX2__)
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (size_t i = 0; i < per; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
      }
      float tmp[8];
      _mm256_storeu_ps(tmp, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      sink[p] = tmp[0] + tmp[7];
#else
      float s = 0;
      for (size_t i = 0; i < per; ++i) s += x[i];
      sink[p] = s;
#endif
    });
    rates.push_back(static_cast<double>(per * parts * sizeof(float)) / seconds_since(t0));
  }
  volatile float keep = sink[0];
  (void)keep;
  return median(rates);
}

// Writes a SmolLM2-135M-shaped GGUF with random weights (Q4_1 layers, Q8_0 embeddings), so
// speed can be measured where the real file is not available; speed does not depend on values.
void write_random_model(const std::string& path) {
  const uint64_t d = 576, ff = 1536, kv = 192, vocab = 49152;
  std::mt19937 rng(1);
  auto blocks = [&](uint32_t type, uint64_t cols, uint64_t rows) {
    const auto* t = sgp::kernels::type_traits(type);
    std::vector<uint8_t> data(rows * cols / t->block_elems * t->block_bytes);
    for (auto& x : data) x = static_cast<uint8_t>(rng());
    for (size_t b = 0; b < data.size(); b += t->block_bytes) {
      uint16_t scale = sgp::kernels::float_to_fp16(0.01f),
               min = sgp::kernels::float_to_fp16(-0.08f);
      std::memcpy(&data[b], &scale, 2);
      if (type == 3) std::memcpy(&data[b + 2], &min, 2);
    }
    return data;
  };
  auto ones = [](uint64_t n) {
    std::vector<uint8_t> v(4 * n);
    for (uint64_t i = 0; i < n; ++i) {
      float one = 1.0f;
      std::memcpy(&v[4 * i], &one, 4);
    }
    return v;
  };
  sgp::test::GgufWriter w;
  w.add_str("general.architecture", "llama");
  w.add_str("general.name", "random SmolLM2-135M shape");
  w.add_u32("llama.block_count", 30);
  w.add_u32("llama.context_length", 8192);
  w.add_u32("llama.embedding_length", d);
  w.add_u32("llama.feed_forward_length", ff);
  w.add_u32("llama.attention.head_count", 9);
  w.add_u32("llama.attention.head_count_kv", 3);
  w.add_f32("llama.rope.freq_base", 100000.0f);
  w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.add_tensor("token_embd.weight", {d, vocab}, 8, blocks(8, d, vocab));
  w.add_tensor("output_norm.weight", {d}, 0, ones(d));
  for (int l = 0; l < 30; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor(b + "attn_norm.weight", {d}, 0, ones(d));
    w.add_tensor(b + "ffn_norm.weight", {d}, 0, ones(d));
    w.add_tensor(b + "attn_q.weight", {d, d}, 3, blocks(3, d, d));
    w.add_tensor(b + "attn_k.weight", {d, kv}, 3, blocks(3, d, kv));
    w.add_tensor(b + "attn_v.weight", {d, kv}, 3, blocks(3, d, kv));
    w.add_tensor(b + "attn_output.weight", {d, d}, 3, blocks(3, d, d));
    w.add_tensor(b + "ffn_gate.weight", {d, ff}, 3, blocks(3, d, ff));
    w.add_tensor(b + "ffn_up.weight", {d, ff}, 3, blocks(3, d, ff));
    w.add_tensor(b + "ffn_down.weight", {ff, d}, 3, blocks(3, ff, d));
  }
  sgp::test::GgufWriter::write_file(path, w.bytes());
}

SeqChunk chunk(std::vector<int32_t> tokens, int32_t start, const std::vector<int32_t>& pages) {
  SeqChunk sc;
  sc.tokens = std::move(tokens);
  sc.start_pos = start;
  sc.pages = pages;
  sc.logits = LogitsMode::Last;
  return sc;
}

int argmax(const float* x, int n) {
  return static_cast<int>(std::max_element(x, x + n) - x);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  std::string out_path;
  int threads = 0, decode_tokens = 128, reps = 3, prefill_len = 512;
  bool random_weights = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      model = v;
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--decode")
      decode_tokens = std::stoi(v);
    else if (k == "--reps")
      reps = std::stoi(v);
    else if (k == "--prefill")
      prefill_len = std::stoi(v);
    else if (k == "--out")
      out_path = v;
    else if (k == "--random-model") {
      write_random_model(v);
      model = v;
      random_weights = true;
    } else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  try {
    // C3 first: peak RSS of loading plus a short generation, before any benchmark buffers.
    auto t_load = Clock::now();
    auto backend = load_cpu_backend(model, {threads, 16});
    double load_s = seconds_since(t_load);
    const ModelConfig& c = backend->config();
    const int page = backend->page_size();
    const int ctx = std::max(prefill_len, 32 + decode_tokens) + page;
    const int n_pages = (ctx + page - 1) / page;
    backend->allocate_kv(n_pages);
    std::vector<int32_t> table(n_pages);
    for (int i = 0; i < n_pages; ++i) table[i] = i;
    const size_t kv_bytes = backend->page_bytes() * n_pages;

    // A 32-token prompt of ordinary ids, then greedy decoding.
    std::vector<int32_t> prompt;
    for (int i = 0; i < 32; ++i) prompt.push_back(1000 + 37 * i);
    auto generate = [&](int n_new, std::vector<int32_t>* out_tokens) {
      Logits lg;
      ForwardBatch b;
      b.seqs.push_back(chunk(prompt, 0, table));
      backend->forward(b, lg);
      int pos = static_cast<int>(prompt.size());
      auto t0 = Clock::now();
      for (int i = 0; i < n_new; ++i) {
        int32_t next = argmax(lg.row(0), c.n_vocab);
        if (out_tokens) out_tokens->push_back(next);
        b.seqs[0] = chunk({next}, pos++, table);
        backend->forward(b, lg);
      }
      return n_new / seconds_since(t0);
    };
    generate(16, nullptr);
    const long rss_peak_kb = status_kb("VmHWM:");
    const size_t file_bytes = std::filesystem::file_size(model);

    // C1 is a ratio, and on a shared machine both of its terms move from minute to minute: each
    // decode run is paired with a bandwidth measurement taken just before it, and C1 is the
    // median of the paired ratios. The buffer sits in huge pages like the packed weights, so
    // both terms stream the same kind of memory.
    sgp::kernels::ThreadPool pool(threads);
    const size_t bw_n = (size_t{1} << 30) / sizeof(float);
    auto bw_arena = std::make_unique<sgp::kernels::WeightArena>(bw_n * sizeof(float));
    float* bw_buf = reinterpret_cast<float*>(bw_arena->take(bw_n * sizeof(float)));
    for (size_t i = 0; i < bw_n; ++i) bw_buf[i] = static_cast<float>(i & 255);
    std::vector<double> decode, bws, c1s;
    for (int r = 0; r < reps; ++r) {
      bws.push_back(read_bandwidth(pool, bw_buf, bw_n, 3));
      decode.push_back(generate(decode_tokens, nullptr));
      c1s.push_back(decode.back() * static_cast<double>(file_bytes) / bws.back());
    }
    const double tok_s = median(decode), bw = median(bws);
    std::vector<double> bws_gb;
    for (double b : bws) bws_gb.push_back(b / 1e9);
    bw_arena.reset();

    std::vector<int32_t> long_prompt;
    for (int i = 0; i < prefill_len; ++i) long_prompt.push_back(500 + (i * 7919) % 40000);
    std::vector<double> prefill;
    for (int r = 0; r < reps; ++r) {
      ForwardBatch b;
      b.seqs.push_back(chunk(long_prompt, 0, table));
      Logits lg;
      auto t0 = Clock::now();
      backend->forward(b, lg);
      prefill.push_back(prefill_len / seconds_since(t0));
    }
    const double prefill_tok_s = median(prefill);

    const double c1 = median(c1s);
    const double c3_budget_mb = (file_bytes + kv_bytes) / 1048576.0 + 150.0;
    nlohmann::json j;
    j["benchmark"] = "cpu_model";
    j["machine"] = {{"cpu", shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")},
                    {"cores", shell("nproc")},
                    {"load_average", shell("cut -d' ' -f1-3 /proc/loadavg")}};
    j["commit"] = shell("git rev-parse --short HEAD 2>/dev/null");
    j["inputs"] = {{"model", model},
                   {"model_file_bytes", file_bytes},
                   // With random weights the peak RSS also holds the generator's file buffer.
                   {"random_weights", random_weights},
                   {"threads", backend ? threads : 0},
                   {"threads_used", pool.size()},
                   {"decode_tokens", decode_tokens},
                   {"decode_prompt_tokens", prompt.size()},
                   {"prefill_tokens", prefill_len},
                   {"reps", reps}};
    j["figures"] = {{"load_seconds", load_s},
                    {"read_bandwidth_GBps", bw / 1e9},
                    {"read_bandwidth_GBps_runs", bws_gb},
                    {"C1_runs", c1s},
                    {"decode_tok_s_median", tok_s},
                    {"decode_tok_s_runs", decode},
                    {"C1_bandwidth_fraction", c1},
                    {"C4_prefill_tok_s_median", prefill_tok_s},
                    {"prefill_tok_s_runs", prefill},
                    {"C3_peak_rss_MB", rss_peak_kb / 1024.0},
                    {"C3_budget_MB", c3_budget_mb},
                    {"kv_bytes", kv_bytes}};
    std::printf("model            %s (%zu bytes)\n", model.c_str(), file_bytes);
    std::printf("threads          %d\n", pool.size());
    std::printf("read bandwidth   %.2f GB/s (median of runs)\n", bw / 1e9);
    for (int r = 0; r < reps; ++r) {
      std::printf("  run %d          %.2f GB/s, %.1f tok/s, C1 %.3f\n", r + 1, bws[r] / 1e9,
                  decode[r], c1s[r]);
    }
    std::printf("decode           %.1f tok/s  (C1 = %.3f, target >= 0.5)\n", tok_s, c1);
    std::printf("prefill %d       %.1f tok/s  (C4)\n", prefill_len, prefill_tok_s);
    std::printf("peak RSS         %.1f MB  (C3 budget %.1f MB)\n", rss_peak_kb / 1024.0,
                c3_budget_mb);
    if (!out_path.empty()) {
      std::filesystem::create_directories(std::filesystem::path(out_path).parent_path());
      std::ofstream(out_path) << j.dump(2) << "\n";
      std::printf("wrote %s\n", out_path.c_str());
    }
  } catch (const sgp::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
