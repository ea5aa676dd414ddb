// VocabTokenizer: what both BPE flavours share — token bytes, added tokens, decode.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_token_matcher.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace sgp::model {

// Lookups by string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIndex = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

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
  AddedTokenMatcher added_;
};

}  // namespace sgp::model
