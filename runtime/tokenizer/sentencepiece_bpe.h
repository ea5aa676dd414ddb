// SentencePieceBpe: Llama-2 / Mistral style BPE — "▁" for spaces, dummy prefix, byte fallback.
#pragma once

#include <array>

#include "tokenizer/merge_table.h"
#include "tokenizer/vocab_tokenizer.h"

namespace sgp::model {

class SentencePieceBpe : public VocabTokenizer {
 public:
  explicit SentencePieceBpe(const TokenizerSpec& spec);

 protected:
  void encode_text(std::string_view text, bool at_start, std::vector<int32_t>& out) const override;

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  DummyPrefix dummy_prefix_;
  bool prefix_unless_space_;
  bool split_on_space_;
  bool byte_fallback_;
  bool fuse_unk_;
  int32_t unk_id_;
  std::array<int32_t, 256> byte_ids_;  // <0xNN> tokens
  TokenIndex ids_by_text_;             // ordinary pieces, in ▁ form
  MergeTable merges_;
};

}  // namespace sgp::model
