#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// Every supported tensor type, written into a GGUF by the test, dequantizes to its format formula.
#include "kernels/cpu/dequant.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <random>

#include "kernels/cpu/ggml_types.h"
#include "model/gguf_file.h"
#include "sgp/error.h"
#include "tests/model/gguf_writer.h"

using sgp::model::GgufFile;

namespace {

// The test's own half / bfloat16 decoding (independent of kernels/cpu/fp16.h).
double half_value(const uint8_t* p) {
  unsigned h = p[0] | (p[1] << 8);
  int sign = (h >> 15) ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e == 0) return sign * std::ldexp(m, -24);
  return sign * std::ldexp(1024 + m, e - 25);
}
double bf16_value(const uint8_t* p) {
  unsigned h = p[0] | (p[1] << 8);
  int sign = (h >> 15) ? -1 : 1, e = (h >> 7) & 255, m = h & 127;
  if (e == 0) return sign * std::ldexp(m, -133);
  return sign * std::ldexp(128 + m, e - 134);
}
int bit(const uint8_t* p, int i) {
  return (p[i / 8] >> (i % 8)) & 1;
}
int nib(const uint8_t* p, int i) {
  return (p[i % 16] >> (4 * (i / 16))) & 15;
}  // 32-block nibble

// Value of element i of one block of each type, straight from the format description.
double q4_0(const uint8_t* b, int i) {
  return half_value(b) * (nib(b + 2, i) - 8);
}
double q4_1(const uint8_t* b, int i) {
  return half_value(b) * nib(b + 4, i) + half_value(b + 2);
}
double q5_0(const uint8_t* b, int i) {
  return half_value(b) * ((nib(b + 6, i) + 16 * bit(b + 2, i)) - 16);
}
double q5_1(const uint8_t* b, int i) {
  return half_value(b) * (nib(b + 8, i) + 16 * bit(b + 4, i)) + half_value(b + 2);
}
double q8_0(const uint8_t* b, int i) {
  return half_value(b) * static_cast<int8_t>(b[2 + i]);
}
double q4_k(const uint8_t* b, int i) {
  const uint8_t* s = b + 4;
  int j = i / 32;  // sub-block with its own 6-bit scale and min
  int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
  int mn = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  int byte = 16 + (i / 64) * 32 + i % 32;
  int q = (i % 64) < 32 ? b[byte] & 15 : b[byte] >> 4;
  return half_value(b) * sc * q - half_value(b + 2) * mn;
}
double q6_k(const uint8_t* b, int i) {
  int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
  const uint8_t* ql = b + 64 * half;
  const uint8_t* qh = b + 128 + 32 * half;
  int low = quarter == 0   ? ql[l] & 15
            : quarter == 1 ? ql[l + 32] & 15
            : quarter == 2 ? ql[l] >> 4
                           : ql[l + 32] >> 4;
  int high = (qh[l] >> (2 * quarter)) & 3;
  int scale = static_cast<int8_t>(b[192 + 8 * half + 2 * quarter + l / 16]);
  return half_value(b + 208) * scale * ((low | (high << 4)) - 32);
}

struct TypeCase {
  const char* name;
  uint32_t type;
  int block_elems, block_bytes;
  std::vector<int> half_at;  // offsets of fp16 scale fields, kept finite
  std::function<double(const uint8_t*, int)> value;
};

void random_half(std::mt19937& rng, uint8_t* p, int min_exp, int max_exp) {
  unsigned e = min_exp + rng() % (max_exp - min_exp + 1);
  unsigned h = ((rng() & 1) << 15) | (e << 10) | (rng() & 1023);
  p[0] = h & 255;
  p[1] = h >> 8;
}

}  // namespace

TEST_CASE("dequantize: every supported type matches its format formula") {
  const std::vector<TypeCase> cases = {
      {"Q4_0", 2, 32, 18, {0}, q4_0},      {"Q4_1", 3, 32, 20, {0, 2}, q4_1},
      {"Q5_0", 6, 32, 22, {0}, q5_0},      {"Q5_1", 7, 32, 24, {0, 2}, q5_1},
      {"Q8_0", 8, 32, 34, {0}, q8_0},      {"Q4_K", 12, 256, 144, {0, 2}, q4_k},
      {"Q6_K", 14, 256, 210, {208}, q6_k},
  };
  std::mt19937 rng(42);
  sgp::test::GgufWriter w;
  const int rows = 3, cols = 512;
  std::vector<std::vector<uint8_t>> datas;
  for (const auto& c : cases) {
    std::vector<uint8_t> data(static_cast<size_t>(rows) * cols / c.block_elems * c.block_bytes);
    for (auto& x : data) x = static_cast<uint8_t>(rng());
    for (size_t b = 0; b < data.size(); b += c.block_bytes) {
      for (int at : c.half_at) random_half(rng, &data[b + at], 5, 20);
    }
    datas.push_back(data);
    w.add_tensor(c.name, {static_cast<uint64_t>(cols), rows}, c.type, data);
  }
  // Plain float types: random finite bit patterns, subnormals included.
  std::vector<uint8_t> f16(2 * cols), bf16(2 * cols), f32(4 * cols);
  for (int i = 0; i < cols; ++i) {
    random_half(rng, &f16[2 * i], i % 7 == 0 ? 0 : 1, 30);
    unsigned hb = ((rng() & 1) << 15) | ((rng() % 254) << 7) | (rng() & 127);
    bf16[2 * i] = hb & 255, bf16[2 * i + 1] = hb >> 8;
    float v = std::ldexp(static_cast<float>(rng() % 100000) - 50000.0f, -10);
    std::memcpy(&f32[4 * i], &v, 4);
  }
  w.add_tensor("F16", {static_cast<uint64_t>(cols)}, 1, f16);
  w.add_tensor("BF16", {static_cast<uint64_t>(cols)}, 30, bf16);
  w.add_tensor("F32", {static_cast<uint64_t>(cols)}, 0, f32);
  std::string path = (std::filesystem::temp_directory_path() /
                      ("sgp_dequant_" + std::to_string(getpid()) + ".gguf"))
                         .string();
  sgp::test::GgufWriter::write_file(path, w.bytes());
  auto f = GgufFile::open(path);

  for (const auto& c : cases) {
    INFO("type " << c.name);
    const auto* t = f->tensor(c.name);
    REQUIRE(t != nullptr);
    CHECK(t->n_bytes == datas[&c - cases.data()].size());
    std::vector<float> out(static_cast<size_t>(rows) * cols);
    sgp::kernels::dequantize_row(t->type, t->data, out.data(), rows * cols);
    int bad = 0;
    for (int i = 0; i < rows * cols; ++i) {
      const uint8_t* block = t->data + static_cast<size_t>(i / c.block_elems) * c.block_bytes;
      double want = c.value(block, i % c.block_elems);
      if (std::fabs(out[i] - want) > 1e-6 * std::max(1.0, std::fabs(want))) ++bad;
    }
    CHECK(bad == 0);
  }
  std::vector<float> out(cols);
  sgp::kernels::dequantize_row(1, f->tensor("F16")->data, out.data(), cols);
  for (int i = 0; i < cols; ++i) CHECK(out[i] == static_cast<float>(half_value(&f16[2 * i])));
  sgp::kernels::dequantize_row(30, f->tensor("BF16")->data, out.data(), cols);
  for (int i = 0; i < cols; ++i) CHECK(out[i] == static_cast<float>(bf16_value(&bf16[2 * i])));
  sgp::kernels::dequantize_row(0, f->tensor("F32")->data, out.data(), cols);
  CHECK(std::memcmp(out.data(), f32.data(), 4 * cols) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("dequantize: other types are refused by name") {
  std::vector<uint8_t> block(84, 0);
  float out[256];
  CHECK_THROWS_WITH_AS(sgp::kernels::dequantize_row(10, block.data(), out, 256),
                       doctest::Contains("Q2_K"), sgp::Error);
  CHECK_THROWS_WITH_AS(sgp::kernels::dequantize_row(13, block.data(), out, 256),
                       doctest::Contains("Q5_K"), sgp::Error);
  CHECK_THROWS_WITH_AS(sgp::kernels::dequantize_row(99, block.data(), out, 32),
                       doctest::Contains("type 99"), sgp::Error);
  CHECK_THROWS_WITH_AS(sgp::kernels::dequantize_row(2, block.data(), out, 33),
                       doctest::Contains("not a whole number"), sgp::Error);
}

TEST_CASE("dequantize: agrees with the gguf package on its own file") {
  // tests/data/model/dequant_golden.gguf comes from tools/ref_dequant.py (gguf's dequantizer).
  auto f = GgufFile::open(SGP_SOURCE_DIR "/tests/data/model/dequant_golden.gguf");
  int checked = 0;
  for (const auto& t : f->tensors()) {
    if (t.name.rfind("expected.", 0) == 0) continue;
    INFO("type " << t.name);
    const auto* want = f->tensor("expected." + t.name);
    REQUIRE(want != nullptr);
    const int64_t n = t.n_elements();
    std::vector<float> got(n);
    sgp::kernels::dequantize_row(t.type, t.data, got.data(), n);
    const auto* ref = reinterpret_cast<const float*>(want->data);
    float worst = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(got[i] - ref[i]) / std::max(1.0f, std::fabs(ref[i])));
    }
    CHECK(worst <= 1e-6f);
    ++checked;
  }
  CHECK(checked == 7);
}
