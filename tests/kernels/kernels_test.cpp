// CPU kernels: quantized dot products, matmul, thread pool and ops against double-precision
// formulas.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/cpu/attend.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/fp16.h"
#include "kernels/cpu/ggml_types.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed_rows.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/cpu/thread_pool.h"

using namespace sgp::kernels;

namespace {

// Random weight rows of a type, with finite scale fields (small normal numbers).
std::vector<uint8_t> random_rows(uint32_t type, int rows, int cols, std::mt19937& rng) {
  const TypeTraits* t = type_traits(type);
  std::vector<uint8_t> data(static_cast<size_t>(rows) * row_bytes(type, cols));
  for (auto& x : data) x = static_cast<uint8_t>(rng());
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto put_half = [&](uint8_t* p, float v) {
    uint16_t h = float_to_fp16(v);
    std::memcpy(p, &h, 2);
  };
  if (t->block_elems == 1) {
    for (size_t i = 0; i < data.size() / t->block_bytes; ++i) {
      float v = nd(rng);
      if (type == 0) std::memcpy(&data[4 * i], &v, 4);
      if (type == 1) put_half(&data[2 * i], v);
      if (type == 30) {
        uint16_t h = static_cast<uint16_t>(float_to_bits(v) >> 16);
        std::memcpy(&data[2 * i], &h, 2);
      }
    }
    return data;
  }
  std::vector<int> halves = {0};
  if (type == 3 || type == 7 || type == 12) halves = {0, 2};
  if (type == 14) halves = {208};
  for (size_t b = 0; b < data.size(); b += t->block_bytes) {
    for (int at : halves) put_half(&data[b + at], nd(rng) * 0.02f);
  }
  return data;
}

std::vector<float> random_vec(int n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

}  // namespace

TEST_CASE("act dots match the dequantized weights within 16-bit activation rounding") {
  std::mt19937 rng(5);
  for (uint32_t type : {2u, 3u, 6u, 7u, 8u}) {
    INFO("type " << type_name(type));
    const int cols = 256;
    ActDotFn dot = act_dot_for(type);
    REQUIRE(static_cast<bool>(dot));
    for (int trial = 0; trial < 20; ++trial) {
      auto w = random_rows(type, 1, cols, rng);
      auto x = random_vec(cols, rng, trial % 2 ? 30.0f : 0.5f);
      if (trial == 3) x[17] = 500.0f;  // an outlier inside one block
      std::vector<float> wf(cols);
      dequantize_row(type, w.data(), wf.data(), cols);
      double want = 0.0, mag = 0.0;
      for (int i = 0; i < cols; ++i) {
        want += static_cast<double>(wf[i]) * x[i];
        mag += std::fabs(static_cast<double>(wf[i]) * x[i]);
      }
      std::vector<ActBlock> xq(cols / 32);
      quantize_activations(x.data(), xq.data(), cols);
      float got;
      dot(w.data(), xq.data(), cols / 32, 1, &got, 1);
      CHECK(std::fabs(got - want) <= 2e-4 * mag + 1e-6);
    }
  }
  CHECK(!act_dot_for(0));
  CHECK(!act_dot_for(14));
}

TEST_CASE("matmul: several jobs, biases, tokens and thread counts") {
  std::mt19937 rng(9);
  const int cols = 512, n_tok = 5;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    MatmulScratch scratch;
    for (uint32_t type : {0u, 1u, 30u, 2u, 3u, 6u, 7u, 8u, 12u, 14u}) {
      INFO("type " << type_name(type) << " threads " << threads);
      const int rows_a = 37, rows_b = 20;
      auto wa = random_rows(type, rows_a, cols, rng);
      auto wb = random_rows(type, rows_b, cols, rng);
      WeightView va{type, rows_a, cols, wa.data(), row_bytes(type, cols)};
      WeightView vb{type, rows_b, cols, wb.data(), row_bytes(type, cols)};
      auto x = random_vec(n_tok * cols, rng);
      auto bias = random_vec(rows_b, rng);
      std::vector<float> ya(n_tok * rows_a), yb(n_tok * rows_b);
      MatmulJob jobs[2] = {{&va, ya.data(), rows_a}, {&vb, yb.data(), rows_b, bias.data()}};
      matmul(pool, scratch, x.data(), n_tok, jobs, 2);
      std::vector<float> row(cols);
      for (int j = 0; j < 2; ++j) {
        const WeightView& w = j == 0 ? va : vb;
        const std::vector<float>& y = j == 0 ? ya : yb;
        int bad = 0;
        for (int r = 0; r < w.rows; ++r) {
          dequantize_row(type, w.row(r), row.data(), cols);
          for (int t = 0; t < n_tok; ++t) {
            double want = j == 1 ? bias[r] : 0.0, mag = std::fabs(want);
            for (int i = 0; i < cols; ++i) {
              want += static_cast<double>(row[i]) * x[t * cols + i];
              mag += std::fabs(static_cast<double>(row[i]) * x[t * cols + i]);
            }
            if (std::fabs(y[t * w.rows + r] - want) > 2e-4 * mag + 1e-5) ++bad;
          }
        }
        CHECK(bad == 0);
      }
    }
  }
}

TEST_CASE("matmul: packed Q4_0/Q4_1/Q8_0 rows match the formula and are batch-invariant") {
  std::mt19937 rng(13);
  const int cols = 320, rows = 48, n_tok = 7;
  for (uint32_t type : {2u, 3u, 8u}) {
    INFO("type " << type_name(type));
    if (!packable(type, rows, cols)) {
      MESSAGE("this build has no packed kernel (needs AVX2, FMA, F16C)");
      CHECK(!packed_dot_for(type));
      continue;
    }
    CHECK(!packable(type, rows + 4, cols));
    CHECK(!packable(6u, rows, cols));
    auto w = random_rows(type, rows, cols, rng);
    std::vector<uint8_t> packed(packed_bytes(type, rows, cols));
    pack_rows(type, w.data(), row_bytes(type, cols), rows, cols, packed.data());
    // Every row comes back byte for byte from the packed copy.
    std::vector<uint8_t> back(row_bytes(type, cols));
    int differ = 0;
    for (int r = 0; r < rows; ++r) {
      unpack_row(type, packed.data(), cols, r, back.data());
      differ += std::memcmp(back.data(), w.data() + r * back.size(), back.size()) != 0;
    }
    CHECK(differ == 0);
    WeightView v{type, rows, cols, w.data(), row_bytes(type, cols)};
    v.packed = packed.data();
    auto x = random_vec(n_tok * cols, rng, 3.0f);
    x[5 * cols + 77] = 400.0f;  // an outlier inside one block of one token
    auto bias = random_vec(rows, rng);
    for (int threads : {1, 2}) {
      ThreadPool pool(threads);
      MatmulScratch scratch;
      std::vector<float> y(n_tok * rows);
      MatmulJob job{&v, y.data(), rows, bias.data()};
      matmul(pool, scratch, x.data(), n_tok, &job, 1);
      std::vector<float> row(cols);
      int bad = 0;
      for (int r = 0; r < rows; ++r) {
        dequantize_row(type, w.data() + r * row_bytes(type, cols), row.data(), cols);
        for (int t = 0; t < n_tok; ++t) {
          double want = bias[r], mag = std::fabs(want);
          for (int i = 0; i < cols; ++i) {
            want += static_cast<double>(row[i]) * x[t * cols + i];
            mag += std::fabs(static_cast<double>(row[i]) * x[t * cols + i]);
          }
          if (std::fabs(y[t * rows + r] - want) > 2e-4 * mag + 1e-5) ++bad;
        }
      }
      CHECK(bad == 0);
      // Each token alone gives bit-identical results to the batch.
      for (int t = 0; t < n_tok; ++t) {
        std::vector<float> y1(rows);
        MatmulJob one{&v, y1.data(), rows, bias.data()};
        matmul(pool, scratch, x.data() + t * cols, 1, &one, 1);
        CHECK(std::memcmp(y1.data(), &y[t * rows], rows * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("attend: grouped heads over gathered rows match the double-precision formula") {
  std::mt19937 rng(17);
  for (int hd : {64, 40, 12, 6}) {
    for (int n : {1, 3, 4, 9, 37}) {
      INFO("hd " << hd << " n " << n);
      const int group = 3;
      auto q = random_vec(group * hd, rng, 2.0f);
      auto kv = random_vec(2 * n * hd, rng);
      std::vector<const float*> k(n), v(n);
      for (int p = 0; p < n; ++p) {  // rows in a scattered order, as from pages
        k[p] = &kv[((p * 7) % n) * hd];
        v[p] = &kv[(n + (p * 5) % n) * hd];
      }
      std::vector<float> scores(group * n), out(group * hd);
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      attend(q.data(), group, k.data(), v.data(), n, hd, scale, scores.data(), out.data());
      double worst = 0.0;
      for (int h = 0; h < group; ++h) {
        std::vector<double> s(n);
        double mx = -1e300, sum = 0.0;
        for (int p = 0; p < n; ++p) {
          double d = 0.0;
          for (int i = 0; i < hd; ++i) d += static_cast<double>(q[h * hd + i]) * k[p][i];
          s[p] = d * scale;
          mx = std::max(mx, s[p]);
        }
        for (int p = 0; p < n; ++p) sum += (s[p] = std::exp(s[p] - mx));
        for (int i = 0; i < hd; ++i) {
          double want = 0.0;
          for (int p = 0; p < n; ++p) want += s[p] / sum * v[p][i];
          worst = std::max(worst, std::fabs(want - out[h * hd + i]));
        }
      }
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("thread pool: every index runs exactly once, call after call") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (int n : {0, 1, 2, 7, 100, 1000}) {
      for (int rep = 0; rep < 50; ++rep) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<int> bad_thread{0};
        pool.parallel_for(n, [&](int i, int th) {
          hits[i].fetch_add(1);
          if (th < 0 || th >= threads) bad_thread.fetch_add(1);
        });
        int wrong = 0;
        for (auto& h : hits) wrong += h.load() != 1;
        CHECK(wrong == 0);
        CHECK(bad_thread.load() == 0);
      }
    }
  }
}

TEST_CASE("ops: rms_norm, silu_mul, softmax") {
  std::mt19937 rng(3);
  auto x = random_vec(64, rng), w = random_vec(64, rng), u = random_vec(64, rng);
  std::vector<float> y(64);
  rms_norm(x.data(), w.data(), y.data(), 64, 1e-5f);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  double inv = 1.0 / std::sqrt(ss / 64 + 1e-5);
  for (int i = 0; i < 64; ++i) CHECK(y[i] == doctest::Approx(x[i] * inv * w[i]).epsilon(1e-5));
  silu_mul(x.data(), u.data(), y.data(), 64);
  for (int i = 0; i < 64; ++i) {
    CHECK(y[i] == doctest::Approx(x[i] / (1 + std::exp(-double(x[i]))) * u[i]).epsilon(1e-5));
  }
  std::vector<float> s = {1000.0f, 1001.0f, 999.0f};  // large values must not overflow
  softmax(s.data(), 3);
  double z = std::exp(-1.0) + 1 + std::exp(-2.0);
  CHECK(s[0] == doctest::Approx(std::exp(-1.0) / z));
  CHECK(s[1] == doctest::Approx(1 / z));
}

TEST_CASE("rope: halves vs adjacent pairs, and llama3 / linear scaling") {
  const int hd = 128;
  RopeParams p;
  p.head_dim = hd;
  p.theta = 500000.0f;
  p.scaling = "llama3";
  p.factor = 8.0f;
  p.low_freq_factor = 1.0f;
  p.high_freq_factor = 4.0f;
  p.original_max_position = 8192;
  Rope halves(p);
  p.interleaved = true;
  Rope pairs(p);
  const int pos = 3000;
  std::vector<float> c(hd / 2), s(hd / 2);
  halves.angles(pos, c.data(), s.data());
  // Expected frequencies, Hugging Face's llama3 rule written out independently.
  const double pi = std::acos(-1.0);
  for (int i = 0; i < hd / 2; ++i) {
    double f = std::pow(500000.0, -2.0 * i / hd), wl = 2 * pi / f, want;
    if (wl < 8192.0 / 4) {
      want = f;
    } else if (wl > 8192.0 / 1) {
      want = f / 8;
    } else {
      double sm = (8192.0 / wl - 1) / (4 - 1);
      want = (1 - sm) * f / 8 + sm * f;
    }
    CHECK(c[i] == doctest::Approx(std::cos(pos * want)).epsilon(1e-5));
    CHECK(s[i] == doctest::Approx(std::sin(pos * want)).epsilon(1e-5));
  }
  // Interleaved rotation of permuted vectors equals half rotation of the originals.
  std::mt19937 rng(1);
  auto v = random_vec(2 * hd, rng);
  std::vector<float> perm(2 * hd);
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < hd / 2; ++i) {
      perm[h * hd + 2 * i] = v[h * hd + i];
      perm[h * hd + 2 * i + 1] = v[h * hd + i + hd / 2];
    }
  }
  halves.apply(v.data(), 2, c.data(), s.data());
  pairs.apply(perm.data(), 2, c.data(), s.data());
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < hd / 2; ++i) {
      CHECK(perm[h * hd + 2 * i] == doctest::Approx(v[h * hd + i]));
      CHECK(perm[h * hd + 2 * i + 1] == doctest::Approx(v[h * hd + i + hd / 2]));
    }
  }
  RopeParams lin;
  lin.head_dim = 8;
  lin.scaling = "linear";
  lin.factor = 4.0f;
  Rope rl(lin);
  std::vector<float> c2(4), s2(4);
  rl.angles(100, c2.data(), s2.data());
  for (int i = 0; i < 4; ++i) {
    CHECK(c2[i] == doctest::Approx(std::cos(25.0 * std::pow(10000.0, -2.0 * i / 8))));
  }
  lin.scaling = "yarn";
  CHECK_THROWS(Rope{lin});
}
