// Tokenizer::from_gguf: reads the tokenizer.ggml.* metadata of a GGUF file.
#include "model/gguf_file.h"
#include "sgp/error.h"
#include "tokenizer/tokenizer_spec.h"

namespace sgp::model {

namespace {

int32_t optional_id(const GgufFile& f, const char* key) {
  int64_t v = f.get_int(key, -1);
  if (v < -1 || v > INT32_MAX) throw Error(std::string("GGUF ") + key + " is out of range");
  return static_cast<int32_t>(v);
}

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& f) {
  TokenizerSpec spec;
  std::string model = f.get_string("tokenizer.ggml.model");
  if (model == "gpt2")
    spec.kind = TokenizerKind::ByteLevelBpe;
  else if (model == "llama")
    spec.kind = TokenizerKind::SentencePieceBpe;
  else
    throw Error("unsupported tokenizer model '" + model +
                "' in GGUF (supported: gpt2 = byte-level BPE, llama = SentencePiece BPE)");

  spec.vocab = f.get_strings("tokenizer.ggml.tokens");
  const size_t n = spec.vocab.size();
  if (f.has("tokenizer.ggml.token_type")) {
    const auto& types = f.get_ints("tokenizer.ggml.token_type");
    if (types.size() != n)
      throw Error("GGUF tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                  " entries for " + std::to_string(n) + " tokens");
    spec.types.reserve(n);
    for (int64_t t : types)
      spec.types.push_back(t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::Normal);
  }
  if (f.has("tokenizer.ggml.scores")) {
    const auto& scores = f.get_floats("tokenizer.ggml.scores");
    spec.scores.assign(scores.begin(), scores.end());
  }
  if (spec.kind == TokenizerKind::ByteLevelBpe) {
    for (const std::string& m : f.get_strings("tokenizer.ggml.merges")) {
      size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) throw Error("GGUF merge '" + m + "' has no space separator");
      spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    spec.pre = pre_tokenizer_from_gguf(f.get_string("tokenizer.ggml.pre", "default"));
    spec.ignore_merges = spec.pre == PreTokenizer::Llama3;
  } else {
    spec.dummy_prefix = f.get_int("tokenizer.ggml.add_space_prefix", 1) ? DummyPrefix::EverySegment
                                                                        : DummyPrefix::None;
    spec.byte_fallback = true;
  }

  spec.bos_id = optional_id(f, "tokenizer.ggml.bos_token_id");
  spec.eos_id = optional_id(f, "tokenizer.ggml.eos_token_id");
  spec.unk_id = optional_id(f, "tokenizer.ggml.unknown_token_id");
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (int32_t id = optional_id(f, key); id >= 0) spec.stop_ids.push_back(id);
  bool spm = spec.kind == TokenizerKind::SentencePieceBpe;
  spec.add_bos = f.get_int("tokenizer.ggml.add_bos_token", spm ? 1 : 0) != 0 && spec.bos_id >= 0;
  spec.chat_template = f.get_string("tokenizer.chat_template", "");

  // Control, unknown and user-defined tokens are found in raw text; only user-defined ones
  // also when special-token parsing is off.
  for (size_t i = 0; i < spec.types.size(); ++i) {
    TokenType t = spec.types[i];
    if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined)
      spec.added.push_back({static_cast<int32_t>(i), spec.vocab[i], t != TokenType::UserDefined});
  }
  return build_tokenizer(std::move(spec));
}

}  // namespace sgp::model
