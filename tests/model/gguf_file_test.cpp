#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// Tests of GgufFile: metadata round trip, the real model's header, and broken or lying files.
#include "model/gguf_file.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "sgp/error.h"
#include "tests/model/gguf_writer.h"

using sgp::model::GgufFile;
using sgp::test::GgufWriter;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("sgp_gguf_" + std::to_string(getpid()) + "_" + name + ".gguf"))
      .string();
}

// Opens bytes written to a temp file; returns the error text, or "" if it opened.
std::string open_error(const std::vector<uint8_t>& bytes) {
  std::string path = temp_path("bad");
  GgufWriter::write_file(path, bytes);
  std::string err;
  try {
    GgufFile::open(path);
  } catch (const sgp::Error& e) {
    err = e.what();
  }
  std::filesystem::remove(path);
  return err;
}

GgufWriter small_file() {
  GgufWriter w;
  w.add_str("general.architecture", "llama");
  w.add_u32("llama.block_count", 2);
  w.add_f32("llama.rope.freq_base", 10000.0f);
  w.add_strs("tokenizer.ggml.tokens", {"a", "b", "<s>"});
  std::vector<uint8_t> data(4 * 8);
  for (size_t i = 0; i < 8; ++i) {
    float x = static_cast<float>(i) * 0.5f;
    std::memcpy(data.data() + 4 * i, &x, 4);
  }
  w.add_tensor("t0", {4, 2}, 0, data);
  w.add_tensor("t1", {8}, 0, data);
  return w;
}

template <typename T>
void patch(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

}  // namespace

TEST_CASE("gguf: metadata and tensors round-trip") {
  GgufWriter w = small_file();
  w.add_i32s("ints", {1, -2, 3});
  w.add_f32s("floats", {0.25f, -1.5f});
  w.add_bool("flag", true);
  w.add_u64("big", 1ull << 40);
  w.add_f64("pi", 3.25);
  std::string path = temp_path("ok");
  GgufWriter::write_file(path, w.bytes());
  auto f = GgufFile::open(path);
  CHECK(f->version() == 3);
  CHECK(f->get_string("general.architecture") == "llama");
  CHECK(f->get_int("llama.block_count") == 2);
  CHECK(f->get_float("llama.rope.freq_base") == 10000.0);
  CHECK(f->get_float("llama.block_count") == 2.0);  // ints read as floats
  CHECK(f->get_int("missing", 7) == 7);
  CHECK(f->get_strings("tokenizer.ggml.tokens") == std::vector<std::string>{"a", "b", "<s>"});
  CHECK(f->get_ints("ints") == std::vector<int64_t>{1, -2, 3});
  CHECK(f->get_floats("floats") == std::vector<double>{0.25, -1.5});
  CHECK(f->get_int("flag") == 1);
  CHECK(f->get_int("big") == (1ll << 40));
  CHECK(f->get_float("pi") == 3.25);
  CHECK_THROWS_WITH_AS(f->get_int("general.architecture"), doctest::Contains("is a string"),
                       sgp::Error);
  CHECK_THROWS_WITH_AS(f->get_string("nope"), doctest::Contains("missing metadata key 'nope'"),
                       sgp::Error);
  REQUIRE(f->tensors().size() == 2);
  const auto* t0 = f->tensor("t0");
  REQUIRE(t0 != nullptr);
  CHECK(t0->dims == std::vector<int64_t>{4, 2});
  CHECK(t0->n_elements() == 8);
  CHECK(t0->n_bytes == 32);
  CHECK(reinterpret_cast<uintptr_t>(t0->data) % 32 == 0);
  float x;
  std::memcpy(&x, t0->data + 4 * 3, 4);
  CHECK(x == 1.5f);
  CHECK(f->tensor("t1")->offset == 32);
  CHECK(f->tensor("t2") == nullptr);
  std::filesystem::remove(path);
}

TEST_CASE("gguf: version 2 and a custom alignment") {
  GgufWriter w = small_file();
  w.version = 2;
  w.alignment = 64;
  w.add_u32("general.alignment", 64);
  std::string path = temp_path("v2");
  GgufWriter::write_file(path, w.bytes());
  auto f = GgufFile::open(path);
  CHECK(f->version() == 2);
  CHECK(f->tensor("t1")->offset == 64);
  CHECK(reinterpret_cast<uintptr_t>(f->tensor("t1")->data) % 64 == 0);
  std::filesystem::remove(path);
}

TEST_CASE("gguf: the default model's header") {
  std::string path = SGP_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  REQUIRE_MESSAGE(std::filesystem::exists(path), "missing " << path << " (run `make model`)");
  auto f = GgufFile::open(path);
  CHECK(f->get_string("general.architecture") == "llama");
  CHECK(f->get_int("llama.block_count") == 30);
  CHECK(f->get_strings("tokenizer.ggml.tokens").size() == 49152);
  const auto* emb = f->tensor("token_embd.weight");
  REQUIRE(emb != nullptr);
  CHECK(emb->dims == std::vector<int64_t>{576, 49152});
  CHECK(sgp::model::ggml_type_name(emb->type) == std::string("Q8_0"));
}

TEST_CASE("gguf: broken and lying headers give clear errors") {
  const std::vector<uint8_t> good = small_file().bytes();
  CHECK(open_error(good).empty());

  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(GgufFile::open("/nonexistent/x.gguf"), doctest::Contains("cannot open"),
                         sgp::Error);
  }
  SUBCASE("bad magic") {
    auto b = good;
    b[0] = 'X';
    CHECK(open_error(b).find("bad magic") != std::string::npos);
  }
  SUBCASE("bad versions") {
    auto b = good;
    patch<uint32_t>(b, 4, 1);
    CHECK(open_error(b).find("version 1") != std::string::npos);
    patch<uint32_t>(b, 4, 0x03000000);
    CHECK(open_error(b).find("unsupported GGUF version") != std::string::npos);
  }
  SUBCASE("every truncation") {
    for (size_t n = 0; n < good.size(); ++n) {
      std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(n));
      std::string e = open_error(b);
      CHECK_MESSAGE(!e.empty(), "prefix of " << n << " bytes opened");
    }
  }
  SUBCASE("huge counts") {
    auto b = good;
    patch<uint64_t>(b, 8, 1ull << 60);  // tensors
    CHECK(open_error(b).find("more than the file can hold") != std::string::npos);
    b = good;
    patch<uint64_t>(b, 16, ~0ull);  // metadata
    CHECK(open_error(b).find("more than the file can hold") != std::string::npos);
    b = good;
    patch<uint64_t>(b, 24, 1ull << 62);  // first key's length
    CHECK(open_error(b).find("claims") != std::string::npos);
  }
  SUBCASE("huge array length") {
    GgufWriter w;
    w.add_i32s("arr", {1, 2});
    auto b = w.bytes();
    // header 24 + key len 8 + "arr" 3 + value type 4 + element type 4 -> length field
    patch<uint64_t>(b, 24 + 8 + 3 + 4 + 4, 1ull << 61);
    CHECK(open_error(b).find("more than the file can hold") != std::string::npos);
  }
  SUBCASE("nested array and unknown value type") {
    GgufWriter w;
    w.add_i32s("arr", {1, 2});
    auto b = w.bytes();
    patch<uint32_t>(b, 24 + 8 + 3 + 4, 9);
    CHECK(open_error(b).find("nested arrays") != std::string::npos);
    patch<uint32_t>(b, 24 + 8 + 3, 77);
    CHECK(open_error(b).find("unknown value type 77") != std::string::npos);
  }
  // One tensor, no metadata: name length at 24, name "t" at 32, rank at 33, dims at 37.
  GgufWriter one;
  one.add_tensor("t", {32, 2}, 0, std::vector<uint8_t>(256, 0));
  const auto tb = one.bytes();
  const size_t rank_at = 33, dim0_at = 37, type_at = 53, offset_at = 57;
  SUBCASE("bad tensor fields") {
    REQUIRE(open_error(tb).empty());
    auto b = tb;
    patch<uint32_t>(b, rank_at, 5);
    CHECK(open_error(b).find("dimensions") != std::string::npos);
    b = tb;
    patch<uint64_t>(b, dim0_at, 1ull << 62);
    CHECK(open_error(b).find("impossible shape") != std::string::npos);
    b = tb;
    patch<uint64_t>(b, dim0_at + 8, 1ull << 39);
    patch<uint64_t>(b, dim0_at, 1ull << 39);
    CHECK(open_error(b).find("impossible shape") != std::string::npos);
    b = tb;
    patch<uint64_t>(b, dim0_at, 0);
    CHECK(open_error(b).find("impossible shape") != std::string::npos);
    b = tb;
    patch<uint32_t>(b, type_at, 17);
    CHECK(open_error(b).find("IQ2_XS") != std::string::npos);
    patch<uint32_t>(b, type_at, 1234);
    CHECK(open_error(b).find("type 1234") != std::string::npos);
    b = tb;
    patch<uint32_t>(b, type_at, 2);  // Q4_0: 32x2 elements = 2 blocks of 18 bytes, fits
    CHECK(open_error(b).empty());
    patch<uint64_t>(b, dim0_at, 33);
    CHECK(open_error(b).find("not whole Q4_0 blocks") != std::string::npos);
    b = tb;
    patch<uint64_t>(b, offset_at, 1ull << 40);
    CHECK(open_error(b).find("past the end") != std::string::npos);
    patch<uint64_t>(b, offset_at, ~0ull - 31);
    CHECK(open_error(b).find("past the end") != std::string::npos);
    patch<uint64_t>(b, offset_at, 7);
    CHECK(open_error(b).find("not aligned") != std::string::npos);
    b = tb;
    b.pop_back();  // data cut short
    CHECK(open_error(b).find("past the end") != std::string::npos);
  }
  SUBCASE("bad alignment") {
    GgufWriter w = one;
    w.add_u32("general.alignment", 24);
    CHECK(open_error(w.bytes()).find("power of two") != std::string::npos);
  }
  SUBCASE("random corruption never crashes") {
    std::mt19937 rng(1234);
    for (int iter = 0; iter < 2000; ++iter) {
      auto b = good;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
      open_error(b);  // either opens or throws sgp::Error; anything else fails the test
    }
  }
}
