// Fuzz target: tokenizer encode → decode round trip and streaming decode, on a byte-level BPE
// (SmolLM style) and a SentencePiece tokenizer from tests/data/tokenizer.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "sgp/error.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::model;

namespace {

struct Loaded {
  std::shared_ptr<Tokenizer> tok;
  std::string kept_bytes;  // bytes with a token of their own; byte-level BPE drops the others
  bool lossless = false;   // decode(encode(s, false)) keeps exactly the kept bytes of s
};

Loaded load(const std::string& folder, bool lossless) {
  Loaded l;
  l.tok = Tokenizer::from_hf_folder(sgp::fuzz::source_dir() + "/tests/data/tokenizer/" + folder);
  for (int b = 0; b < 256; ++b)
    if (!l.tok->encode(std::string(1, static_cast<char>(b)), false).empty())
      l.kept_bytes += static_cast<char>(b);
  l.lossless = lossless;
  return l;
}

const std::vector<Loaded>& tokenizers() {
  // SentencePiece turns a literal "▁" into a space on the way back, so only BPE is lossless.
  static const std::vector<Loaded> all = {load("smollm_bpe", true), load("spm_legacy", false)};
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 16 * 1024) return 0;
  const auto& all = tokenizers();
  const Loaded& l = all[data[0] % all.size()];
  bool special = data[0] & 0x10;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const Tokenizer& tok = *l.tok;

  std::vector<int32_t> ids = tok.encode(text, special);
  for (int32_t id : ids)
    if (id < 0 || id >= tok.n_vocab()) __builtin_trap();
  std::string decoded = tok.decode(ids);
  if (l.lossless && !special) {
    std::string want;
    for (char c : text)
      if (l.kept_bytes.find(c) != std::string::npos) want += c;
    if (decoded != want) __builtin_trap();
  }
  // Streaming decode never throws for in-range ids and ends with everything flushed.
  IncrementalDecoder stream(tok, data[0] & 0x20);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  // Out-of-range ids are errors, never reads past the table.
  try {
    (void)tok.decode({tok.n_vocab()});
    __builtin_trap();
  } catch (const sgp::Error&) {
  }
  return 0;
}
