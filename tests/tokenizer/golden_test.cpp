// Our tokenizers against the HF `tokenizers` library on the strings of tools/ref_tokenizer.py.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/gguf_file.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"

using namespace sgp::model;
using nlohmann::json;

namespace {

const std::string kData = std::string(SGP_SOURCE_DIR) + "/tests/data/tokenizer/";
const std::string kSmolLM2 =
    std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

json load(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "missing " << path << " (run tools/ref_tokenizer.py)");
  return json::parse(in);
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

// Every case: encode with and without special-token parsing, and decode, equal HF's.
void check_cases(const Tokenizer& tok, const json& cases, bool expect_round_trip) {
  size_t equal = 0, n = 0;
  for (const json& c : cases) {
    std::string text = c.at("text").get<std::string>();
    auto want = c.at("ids").get<std::vector<int32_t>>();
    auto want_plain = c.at("ids_no_special").get<std::vector<int32_t>>();
    auto got = tok.encode(text, true);
    auto got_plain = tok.encode(text, false);
    std::string decoded = tok.decode(got);
    bool ok =
        got == want && got_plain == want_plain && decoded == c.at("decoded").get<std::string>();
    if (expect_round_trip && c.at("decoded") == c.at("text") && want == want_plain)
      ok = ok && decoded == text;
    CHECK_MESSAGE(ok, "text " << json(text).dump() << "\n want " << show(want) << "\n got  "
                              << show(got) << "\n want(no special) " << show(want_plain)
                              << "\n got(no special)  " << show(got_plain));
    equal += ok;
    ++n;
  }
  MESSAGE(equal << "/" << n << " strings equal HF");
  CHECK(n >= 200);
}

}  // namespace

TEST_CASE("SmolLM2 GGUF tokenizer equals HF tokenizers") {
  REQUIRE_MESSAGE(std::filesystem::exists(kSmolLM2), "model missing: run `make model`");
  auto file = GgufFile::open(kSmolLM2);
  auto tok = Tokenizer::from_gguf(*file);
  CHECK(tok->n_vocab() == 49152);
  check_cases(*tok, load(kData + "smollm2_golden.json").at("cases"), true);
}

TEST_CASE("pre-tokenizers split like HF (GPT-2, SmolLM, Llama-3, Qwen2)") {
  json g = load(kData + "pretokenizer_golden.json");
  auto strings = g.at("strings").get<std::vector<std::string>>();
  const std::pair<std::string, PreTokenizer> kinds[] = {{"gpt2", PreTokenizer::Gpt2},
                                                        {"smollm", PreTokenizer::SmolLM},
                                                        {"llama3", PreTokenizer::Llama3},
                                                        {"qwen2", PreTokenizer::Qwen2}};
  std::vector<CodeUnit> units, scratch;
  std::vector<std::string_view> pieces;
  for (const auto& [name, kind] : kinds) {
    const json& all = g.at("pieces").at(name);
    size_t equal = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const std::string& s = strings[i];
      decode_utf8(s, units);  // HF offsets count characters; turn them into bytes
      std::vector<std::string_view> want;
      for (const json& p : all[i]) {
        size_t a = p[0], b = p[1];
        size_t ba = a < units.size() ? units[a].offset : s.size();
        size_t bb = b < units.size() ? units[b].offset : s.size();
        want.push_back(std::string_view(s).substr(ba, bb - ba));
      }
      pre_tokenize(kind, s, scratch, pieces);
      bool ok = pieces == want;
      CHECK_MESSAGE(ok, name << " split of " << json(s).dump());
      equal += ok;
    }
    MESSAGE(name << ": " << equal << "/" << strings.size() << " splits equal HF");
  }
}

TEST_CASE("NFC equals Python's unicodedata.normalize") {
  json g = load(kData + "pretokenizer_golden.json");
  auto strings = g.at("strings").get<std::vector<std::string>>();
  auto nfc = g.at("nfc").get<std::vector<std::string>>();
  REQUIRE(strings.size() == nfc.size());
  size_t equal = 0, changed = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    bool ok = to_nfc(strings[i]) == nfc[i];
    CHECK_MESSAGE(ok, "NFC of " << json(strings[i]).dump() << " should be " << json(nfc[i]).dump());
    if (surely_nfc(strings[i])) CHECK(strings[i] == nfc[i]);
    equal += ok;
    changed += strings[i] != nfc[i];
  }
  MESSAGE("NFC: " << equal << "/" << strings.size() << " equal Python (" << changed
                  << " strings change under NFC)");
  CHECK(changed >= 10);
}

TEST_CASE("Llama-3 style tokenizer.json equals HF tokenizers") {
  auto tok = Tokenizer::from_hf_folder(kData + "llama3_bpe");
  CHECK(tok->add_bos());
  CHECK(tok->token_bytes(tok->bos_id()) == "<|begin_of_text|>");
  CHECK(tok->token_bytes(tok->eos_id()) == "<|end_of_text|>");
  CHECK(!tok->chat_template().empty());
  check_cases(*tok, load(kData + "llama3_bpe_golden.json").at("cases"), true);
}

TEST_CASE("Qwen2 style tokenizer.json equals HF tokenizers") {
  auto tok = Tokenizer::from_hf_folder(kData + "qwen2_bpe");
  CHECK(!tok->add_bos());
  check_cases(*tok, load(kData + "qwen2_bpe_golden.json").at("cases"), true);
}

TEST_CASE("GPT-2 and SmolLM style tokenizer.json equal HF tokenizers") {
  for (std::string name : {"gpt2_bpe", "smollm_bpe"}) {
    CAPTURE(name);
    auto tok = Tokenizer::from_hf_folder(kData + name);
    CHECK(!tok->add_bos());
    check_cases(*tok, load(kData + name + "_golden.json").at("cases"), true);
  }
}

TEST_CASE("SentencePiece BPE (Llama-2 legacy normalizer) tokenizer.json equals HF tokenizers") {
  auto tok = Tokenizer::from_hf_folder(kData + "spm_legacy");
  CHECK(tok->add_bos());
  CHECK(tok->token_bytes(tok->bos_id()) == "<s>");
  CHECK(tok->token_bytes(tok->eos_id()) == "</s>");
  check_cases(*tok, load(kData + "spm_legacy_golden.json").at("cases"), true);
}

TEST_CASE("SentencePiece BPE (Metaspace pre-tokenizer) tokenizer.json equals HF tokenizers") {
  auto tok = Tokenizer::from_hf_folder(kData + "spm_metaspace");
  check_cases(*tok, load(kData + "spm_metaspace_golden.json").at("cases"), true);
}

TEST_CASE("SentencePiece BPE (Metaspace split at each space) tokenizer.json equals HF tokenizers") {
  auto tok = Tokenizer::from_hf_folder(kData + "spm_metaspace_split");
  check_cases(*tok, load(kData + "spm_metaspace_split_golden.json").at("cases"), true);
}

TEST_CASE("SentencePiece GGUF (scores, token types) equals HF tokenizers") {
  auto file = GgufFile::open(kData + "spm_scores.gguf");
  auto tok = Tokenizer::from_gguf(*file);
  CHECK(tok->add_bos());
  CHECK(tok->bos_id() == 1);
  CHECK(tok->eos_id() == 2);
  CHECK(tok->is_special(1));
  CHECK(!tok->chat_template().empty());
  check_cases(*tok, load(kData + "spm_scores_golden.json").at("cases"), true);
}
