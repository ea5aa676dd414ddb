// Byte-level BPE: vocabulary text is unmapped to bytes once, so merging works on raw bytes.
#include "tokenizer/byte_level_bpe.h"

#include "sgp/error.h"
#include "tokenizer/byte_unicode.h"

namespace sgp::model {

ByteLevelBpe::ByteLevelBpe(const TokenizerSpec& spec)
    : VocabTokenizer(spec), pre_(spec.pre), ignore_merges_(spec.ignore_merges) {
  byte_ids_.fill(-1);
  bytes_.resize(spec.vocab.size());
  // Vocabulary text (GPT-2 mapped) → id, to resolve merges written in the same form.
  TokenIndex ids_by_text;
  ids_by_text.reserve(spec.vocab.size());
  for (size_t i = 0; i < spec.vocab.size(); ++i) {
    const std::string& text = spec.vocab[i];
    TokenType type = spec.types[i];
    int32_t id = static_cast<int32_t>(i);
    bool ordinary = type == TokenType::Normal || type == TokenType::Byte;
    // Control and user-defined tokens are written as plain text, not in the byte mapping.
    bytes_[i] = ordinary ? unmap_byte_level(text) : text;
    if (!ordinary || text.empty()) continue;
    ids_by_text.try_emplace(text, id);
    if (ignore_merges_) ids_by_bytes_.try_emplace(bytes_[i], id);
    if (bytes_[i].size() == 1 && byte_ids_[static_cast<uint8_t>(bytes_[i][0])] < 0)
      byte_ids_[static_cast<uint8_t>(bytes_[i][0])] = id;
  }
  merges_.add_ranked(spec.merges, ids_by_text);
}

void ByteLevelBpe::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    auto it = ids_by_bytes_.find(piece);
    if (it != ids_by_bytes_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (cache_.find(piece, out)) return;
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  for (char c : piece) {
    int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    // A byte the vocabulary lacks is dropped, as HF does for byte-level BPE (which has no unk
    // token; GGUF files may still name one, e.g. SmolLM2's <|endoftext|>).
    if (id >= 0) symbols.push_back(id);
  }
  merges_.apply(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
  cache_.insert(piece, symbols);
}

void ByteLevelBpe::encode_text(std::string_view text, bool, std::vector<int32_t>& out) const {
  thread_local std::vector<CodeUnit> units;
  thread_local std::vector<std::string_view> pieces;
  pre_tokenize(pre_, text, units, pieces);
  for (std::string_view piece : pieces) encode_piece(piece, out);
}

}  // namespace sgp::model
