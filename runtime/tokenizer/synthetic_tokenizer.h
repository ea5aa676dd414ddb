// SyntheticTokenizer: a tokenizer of any vocabulary size for random-weight models (benchmarks,
// GPU tests, `--random-weights`), where no real vocabulary exists.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sgp::model {

// Ids 0-255 are the single bytes (so every text encodes), 256 is "<|bos|>", 257 "<|eos|>"
// (both special), and every id from 258 on spells " w<id>". Encoding takes " w<id>" words
// greedily where the number is a valid id, else bytes.
class SyntheticTokenizer : public Tokenizer {
 public:
  static constexpr int32_t kBos = 256;
  static constexpr int32_t kEos = 257;
  static constexpr int32_t kFirstWord = 258;

  explicit SyntheticTokenizer(int n_vocab);

  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  const std::string& token_bytes(int32_t id) const override;
  int n_vocab() const override { return static_cast<int>(pieces_.size()); }
  bool is_special(int32_t id) const override { return id == kBos || id == kEos; }

 private:
  std::vector<std::string> pieces_;
};

}  // namespace sgp::model
