// Pre-tokenizers: the split patterns of GPT-2, SmolLM, Llama-3 and Qwen2, as hand-written matchers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"

namespace sgp::model {

enum class PreTokenizer {
  None,    // the whole text is one piece
  Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  SmolLM,  // every \p{N} alone, then Gpt2 on the rest (HF: Digits(individual) + ByteLevel)
  Llama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
           // ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Qwen2,   // as Llama3 but \p{N} one at a time
};

const char* pre_tokenizer_name(PreTokenizer kind);
// GGUF tokenizer.ggml.pre values; throws sgp::Error naming an unknown one.
PreTokenizer pre_tokenizer_from_gguf(std::string_view pre);
// The pattern of an HF `Split` pre-tokenizer, if it is one of the known ones.
std::optional<PreTokenizer> pre_tokenizer_from_regex(std::string_view regex);

// Splits text into pieces (byte spans of text, in order, covering all of it). `units` is
// scratch space, reused across calls.
void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<CodeUnit>& units,
                  std::vector<std::string_view>& pieces);

}  // namespace sgp::model
