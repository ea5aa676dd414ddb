// ByteLevelBpe: GPT-2 style BPE over raw bytes, after a regex-style pre-tokenizer split.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "tokenizer/merge_table.h"
#include "tokenizer/piece_cache.h"
#include "tokenizer/vocab_tokenizer.h"

namespace sgp::model {

class ByteLevelBpe : public VocabTokenizer {
 public:
  explicit ByteLevelBpe(const TokenizerSpec& spec);
  const PieceCache& cache() const { return cache_; }

 protected:
  void encode_text(std::string_view text, bool at_start, std::vector<int32_t>& out) const override;

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  PreTokenizer pre_;
  bool ignore_merges_;
  std::array<int32_t, 256> byte_ids_;
  TokenIndex ids_by_bytes_;  // ordinary tokens, when ignore_merges_
  MergeTable merges_;
  // Pieces repeat a lot (" the", ","): their tokens are cached, within a fixed memory budget.
  mutable PieceCache cache_;
};

}  // namespace sgp::model
