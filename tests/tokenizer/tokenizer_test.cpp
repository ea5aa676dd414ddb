// Tokenizer behaviour beyond the goldens: special ids, incremental decoding, bad input.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "tokenizer/tokenizer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "model/gguf_file.h"
#include "sgp/error.h"
#include "tests/model/gguf_writer.h"
#include "tokenizer/utf8.h"

using namespace sgp::model;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(SGP_SOURCE_DIR) + "/tests/data/tokenizer/";
const std::string kSmolLM2 =
    std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

std::shared_ptr<Tokenizer> smollm2() {
  static std::shared_ptr<Tokenizer> tok = [] {
    REQUIRE_MESSAGE(fs::exists(kSmolLM2), "model missing: run `make model`");
    return Tokenizer::from_gguf(*GgufFile::open(kSmolLM2));
  }();
  return tok;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_valid_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

fs::path scratch_dir(const std::string& name) {
  fs::path p = fs::path(SGP_BINARY_DIR) / "tokenizer_test" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// "▁" → " ", as SentencePiece normalization does.
std::string spaces_for_marks(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// Streams ids through an IncrementalDecoder, checking each piece is valid UTF-8.
std::string stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool text_start = true) {
  IncrementalDecoder dec(tok, text_start);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = dec.push(id);
    CHECK(valid_utf8(piece));
    out += piece;
  }
  return out + dec.flush();
}

std::string concat_bytes(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += tok.token_bytes(id);
  return out;
}

}  // namespace

TEST_CASE("SmolLM2 special ids, stop ids and chat template come from the GGUF") {
  auto tok = smollm2();
  auto id = [&](const std::string& text) {
    auto ids = tok->encode(text, true);
    REQUIRE(ids.size() == 1);
    return ids[0];
  };
  int32_t im_start = id("<|im_start|>"), im_end = id("<|im_end|>"), eot = id("<|endoftext|>");
  CHECK(tok->bos_id() == im_start);
  CHECK(tok->eos_id() == im_end);
  const auto& stops = tok->stop_ids();
  CHECK(std::count(stops.begin(), stops.end(), im_end) == 1);
  CHECK(std::count(stops.begin(), stops.end(), eot) == 1);
  CHECK(std::count(stops.begin(), stops.end(), im_start) == 0);
  CHECK(!tok->add_bos());
  CHECK(tok->is_special(im_end));
  CHECK(!tok->is_special(id("hello")));
  CHECK(tok->chat_template().find("<|im_start|>") != std::string::npos);
  // Without special parsing the same text is ordinary text of several tokens.
  CHECK(tok->encode("<|im_end|>", false).size() > 1);
  CHECK(tok->decode(tok->encode("<|im_end|>", false)) == "<|im_end|>");
}

TEST_CASE("incremental decoding emits only complete UTF-8 and adds up to decode()") {
  auto tok = smollm2();
  const std::string texts[] = {
      "Hello 🙂 world, 你好世界! Ünïcödé 👨‍👩‍👧‍👦 ok",
      "𠜎𠜱𠝹 ヽ༼ຈل͜ຈ༽ﾉ 🇫🇷🇩🇪", "plain ascii"};
  for (const std::string& text : texts) {
    auto ids = tok->encode(text);
    CHECK(stream(*tok, ids) == text);
  }
  // An emoji split into single-byte tokens comes out whole, once its last byte arrives.
  std::vector<int32_t> bytes;
  for (char c : std::string("🙂")) {
    auto ids = tok->encode(std::string(1, c));
    REQUIRE(ids.size() == 1);
    bytes.push_back(ids[0]);
  }
  IncrementalDecoder dec(*tok);
  CHECK(dec.push(bytes[0]).empty());
  CHECK(dec.push(bytes[1]).empty());
  CHECK(dec.push(bytes[2]).empty());
  CHECK(dec.push(bytes[3]) == "🙂");
  // A truncated sequence left at the end becomes U+FFFD; a stray continuation byte too.
  IncrementalDecoder cut(*tok);
  CHECK(cut.push(bytes[0]).empty());
  CHECK(cut.flush() == "\xEF\xBF\xBD");
  IncrementalDecoder stray(*tok);
  CHECK(stray.push(bytes[3]) == "\xEF\xBF\xBD");
}

TEST_CASE("SentencePiece streams: a text start drops the dummy-prefix space, a continuation not") {
  auto tok = Tokenizer::from_hf_folder(kData + "spm_legacy");
  CHECK(tok->decode_strips_leading_space());
  for (std::string text : {"Hello world", " two leading", "中文🙂 byte fallback"}) {
    auto ids = tok->encode(text);
    CHECK(tok->decode(ids) == text);
    CHECK(stream(*tok, ids, true) == text);
    // Generated after a prompt, "▁Hello" is " Hello": the space belongs to the output.
    CHECK(stream(*tok, ids, false) == " " + text);
    CHECK(stream(*tok, ids, false) == concat_bytes(*tok, ids));
  }
  CHECK(!smollm2()->decode_strips_leading_space());
}

TEST_CASE("invalid UTF-8 input is tokenized losslessly by byte-level BPE, never crashes SPM") {
  auto tok = smollm2();
  const std::string bad[] = {"\xff",
                             "abc\xc3",
                             "\xc3(",
                             "\xe2\x82",
                             "a\xed\xa0\x80z",
                             "\xf8\x88\x80\x80\x80",
                             std::string("nul\0byte", 8),
                             "\xc0\xaf"};
  auto spm = Tokenizer::from_hf_folder(kData + "spm_legacy");
  for (const std::string& s : bad) {
    // SmolLM2's vocabulary has no token for a few bytes (0xC0, 0xF5..0xFF, 0x1D ...): like HF,
    // those bytes are dropped and everything else survives.
    std::string kept;
    for (char c : s)
      if (!tok->encode(std::string(1, c)).empty()) kept += c;
    CHECK(kept.size() + 2 >= s.size());
    CHECK(tok->decode(tok->encode(s)) == kept);
    CHECK(valid_utf8(stream(*tok, tok->encode(s))));
    CHECK(spm->decode(spm->encode(s)) == s);  // byte fallback keeps every byte
  }
}

TEST_CASE("random text: ids in range, lossless round trip, streaming equals decode") {
  struct Case {
    std::shared_ptr<Tokenizer> tok;
    bool keeps_leading_space;  // HF Metaspace "first" drops the prefix before a leading space
    bool spm = false;          // SentencePiece: a literal "▁" in the input comes back as a space
  };
  std::vector<Case> cases = {
      {smollm2(), true},
      {Tokenizer::from_hf_folder(kData + "llama3_bpe"), true},
      {Tokenizer::from_hf_folder(kData + "qwen2_bpe"), true},
      {Tokenizer::from_hf_folder(kData + "spm_legacy"), true, true},
      {Tokenizer::from_hf_folder(kData + "spm_metaspace"), false, true},
      {Tokenizer::from_gguf(*GgufFile::open(kData + "spm_scores.gguf")), true, true},
  };
  const std::string pieces[] = {" ",
                                "  ",
                                "\n",
                                "\t",
                                "\r\n",
                                "a",
                                "Z",
                                "'s",
                                "'LL",
                                "1",
                                "42",
                                "é",
                                "中",
                                "🙂",
                                "\xC3",
                                "\xFF",
                                "\x80",
                                "<s>",
                                "<|im_end|>",
                                "<|begin_of_text|>",
                                "\xE2\x96\x81",
                                "x\xCC\x81",
                                "\xC2\xA0",
                                "!?",
                                "...",
                                std::string(1, '\0')};
  std::mt19937 rng(7);
  for (const Case& c : cases) {
    const Tokenizer& tok = *c.tok;
    std::string kept_bytes;  // bytes with a token of their own (SmolLM2 lacks a few)
    for (int b = 0; b < 256; ++b)
      if (!tok.encode(std::string(1, static_cast<char>(b)), false).empty())
        kept_bytes += static_cast<char>(b);
    int failures = 0;
    for (int n = 0; n < 500; ++n) {
      std::string s;
      int len = rng() % 12;
      for (int k = 0; k < len; ++k) s += pieces[rng() % std::size(pieces)];
      for (bool special : {true, false}) {
        auto ids = tok.encode(s, special);
        for (int32_t id : ids) failures += id < 0 || id >= tok.n_vocab();
        std::string decoded = tok.decode(ids);
        std::string streamed = stream(tok, ids, true);
        std::string continued = stream(tok, ids, false);
        failures += !valid_utf8(streamed) || !valid_utf8(continued);
        if (valid_utf8(decoded)) failures += streamed != decoded;
        std::string bytes = concat_bytes(tok, ids);
        if (valid_utf8(bytes)) failures += continued != bytes;
        if (special) continue;
        std::string want;
        for (char ch : s)
          if (kept_bytes.find(ch) != std::string::npos) want += ch;
        if (c.spm) want = spaces_for_marks(want);
        if (c.keeps_leading_space || s.empty() || s[0] != ' ') {
          bool same = decoded == want;
          CHECK_MESSAGE(same, "round trip of " << s);
          failures += !same;
        }
      }
    }
    CHECK(failures == 0);
  }
}

TEST_CASE("encode is safe from several threads at once") {
  auto tok = smollm2();
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i)
    texts.push_back("sample " + std::to_string(i * 7919) + " text ü " + std::string(i % 7, ' '));
  std::vector<std::vector<int32_t>> want;
  for (const auto& t : texts) want.push_back(tok->encode(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (size_t i = 0; i < texts.size(); ++i) mismatches[t] += tok->encode(texts[i]) != want[i];
    });
  for (auto& th : threads) th.join();
  for (int m : mismatches) CHECK(m == 0);
}

TEST_CASE("ids out of range are errors") {
  auto tok = smollm2();
  CHECK_THROWS_AS(tok->token_bytes(-1), sgp::Error);
  CHECK_THROWS_AS(tok->token_bytes(tok->n_vocab()), sgp::Error);
  CHECK_THROWS_AS(tok->decode({1, 1 << 30}), sgp::Error);
  IncrementalDecoder dec(*tok);
  CHECK_THROWS_AS(dec.push(-5), sgp::Error);
}

TEST_CASE("malformed tokenizer.json folders give sgp::Error") {
  CHECK_THROWS_AS(Tokenizer::from_hf_folder("/nonexistent/folder"), sgp::Error);
  auto dir = scratch_dir("bad_json");
  const std::string bad[] = {
      "{not json",
      "[]",
      R"({"model": {"type": "WordPiece", "vocab": {}}})",
      R"({"model": {"type": "BPE", "vocab": ["a", "b"]}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 4000000000}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": -3}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Whitespace"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": "x", "content": "<s>"}], "pre_tokenizer": {"type": "ByteLevel"}})",
      // ids must be integers: a float was once converted (1e49: undefined behaviour; 1.5 -> 1)
      R"({"model": {"type": "BPE", "vocab": {"a": 1e49}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1.5}}, "pre_tokenizer": {"type": "ByteLevel"}})",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": 4000000000, "content": "<s>"}], "pre_tokenizer": {"type": "ByteLevel"}})",
  };
  for (const std::string& text : bad) {
    write(dir / "tokenizer.json", text);
    CHECK_THROWS_AS(Tokenizer::from_hf_folder(dir.string()), sgp::Error);
  }
  // A good tokenizer.json with a broken tokenizer_config.json is an error too.
  fs::copy_file(kData + "qwen2_bpe/tokenizer.json", dir / "tokenizer.json",
                fs::copy_options::overwrite_existing);
  write(dir / "tokenizer_config.json", "{\"add_bos_token\": tru");
  CHECK_THROWS_AS(Tokenizer::from_hf_folder(dir.string()), sgp::Error);
  // ... and a generation_config.json whose EOS list holds a float.
  fs::remove(dir / "tokenizer_config.json");
  write(dir / "generation_config.json", "{\"eos_token_id\": [1, 2.5e40]}");
  CHECK_THROWS_WITH_AS(Tokenizer::from_hf_folder(dir.string()),
                       doctest::Contains("is not an integer"), sgp::Error);
}

TEST_CASE("malformed GGUF tokenizer metadata gives sgp::Error") {
  auto dir = scratch_dir("bad_gguf");
  auto attempt = [&](const sgp::test::GgufWriter& w) {
    std::string path = (dir / "t.gguf").string();
    sgp::test::GgufWriter::write_file(path, w.bytes());
    auto f = GgufFile::open(path);
    return Tokenizer::from_gguf(*f);
  };
  auto base = [](const std::string& model) {
    sgp::test::GgufWriter w;
    w.add_str("tokenizer.ggml.model", model);
    w.add_strs("tokenizer.ggml.tokens", {"a", "b", "ab"});
    return w;
  };
  {  // a minimal valid one loads and merges
    auto w = base("gpt2");
    w.add_strs("tokenizer.ggml.merges", {"a b"});
    auto tok = attempt(w);
    CHECK(tok->encode("ab") == std::vector<int32_t>{2});
  }
  CHECK_THROWS_AS(attempt(base("bert")), sgp::Error);
  CHECK_THROWS_AS(attempt(base("gpt2")), sgp::Error);  // no merges
  {
    auto w = base("gpt2");
    w.add_strs("tokenizer.ggml.merges", {"ab"});
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    auto w = base("gpt2");
    w.add_strs("tokenizer.ggml.merges", {"a b"});
    w.add_str("tokenizer.ggml.pre", "no-such-pre");
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    auto w = base("llama");
    w.add_i32s("tokenizer.ggml.token_type", {1, 1});
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    auto w = base("llama");
    w.add_f32s("tokenizer.ggml.scores", {0.f});
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    auto w = base("llama");
    w.add_u32("tokenizer.ggml.eos_token_id", 99);
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    auto w = base("llama");
    w.add_str("tokenizer.ggml.bos_token_id", "one");
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
  {
    sgp::test::GgufWriter w;
    w.add_str("tokenizer.ggml.model", "llama");
    w.add_strs("tokenizer.ggml.tokens", {});
    CHECK_THROWS_AS(attempt(w), sgp::Error);
  }
}
