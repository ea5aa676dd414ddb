// VocabTokenizer: what both BPE flavours share — token bytes, added tokens, decode.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_token_matcher.h"
#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace sgp::model {

class VocabTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  const std::string& token_bytes(int32_t id) const override;
  int n_vocab() const override { return static_cast<int>(bytes_.size()); }
  bool is_special(int32_t id) const override;

 protected:
  // Takes the ids, flags and added tokens; subclasses fill bytes_.
  explicit VocabTokenizer(const TokenizerSpec& spec);
  // Tokenizes ordinary text between added tokens. `at_start`: the segment begins the input.
  virtual void encode_text(std::string_view text, bool at_start,
                           std::vector<int32_t>& out) const = 0;

  std::vector<std::string> bytes_;  // id → the bytes it decodes to
  std::vector<bool> special_;
  bool nfc_ = false;
  AddedTokenMatcher added_;
};

}  // namespace sgp::model
