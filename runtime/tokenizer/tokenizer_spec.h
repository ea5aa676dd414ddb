// TokenizerSpec: what the GGUF and tokenizer.json loaders read, from which a Tokenizer is built.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/added_token_matcher.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace sgp::model {

enum class TokenizerKind { ByteLevelBpe, SentencePieceBpe };

// Numbers as in GGUF tokenizer.ggml.token_type.
enum class TokenType : uint8_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

// Where SentencePiece's dummy-prefix "▁" goes.
enum class DummyPrefix { None, EverySegment, FirstSegment };

struct TokenizerSpec {
  TokenizerKind kind = TokenizerKind::ByteLevelBpe;
  std::vector<std::string> vocab;  // id → text as the file writes it (GPT-2 mapped, or with ▁)
  std::vector<TokenType> types;    // same length as vocab
  std::vector<float> scores;       // SentencePiece scores; used when `merges` is empty
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<AddedToken> added;  // matched in raw text before anything else
  bool nfc = false;               // NFC-normalize text between added tokens (HF normalizer)

  // Byte-level BPE
  PreTokenizer pre = PreTokenizer::Gpt2;
  bool ignore_merges = false;  // a piece that is itself in the vocabulary is one token
  // SentencePiece BPE
  DummyPrefix dummy_prefix = DummyPrefix::None;
  bool prefix_unless_space = false;  // HF Metaspace: no "▁" is added before a leading space
  bool split_on_space = false;       // HF Metaspace split=true: pieces start at each "▁"
  bool byte_fallback = true;
  bool fuse_unk = false;
  int32_t unk_id = -1;

  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::vector<int32_t> stop_ids;
  bool add_bos = false;
  std::string chat_template;
};

// Checks the spec (sizes, ids in range) and builds the tokenizer; throws sgp::Error.
std::shared_ptr<Tokenizer> build_tokenizer(TokenizerSpec spec);

}  // namespace sgp::model
