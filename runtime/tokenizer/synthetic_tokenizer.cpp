// SyntheticTokenizer: bytes, two specials and numbered words, for random-weight models.
#include "tokenizer/synthetic_tokenizer.h"

#include "sgp/error.h"

namespace sgp::model {

SyntheticTokenizer::SyntheticTokenizer(int n_vocab) {
  if (n_vocab < kFirstWord + 1)
    throw Error("a synthetic tokenizer needs at least " + std::to_string(kFirstWord + 1) +
                " tokens, not " + std::to_string(n_vocab));
  pieces_.reserve(static_cast<size_t>(n_vocab));
  for (int b = 0; b < 256; ++b) pieces_.push_back(std::string(1, static_cast<char>(b)));
  pieces_.push_back("<|bos|>");
  pieces_.push_back("<|eos|>");
  for (int id = kFirstWord; id < n_vocab; ++id) pieces_.push_back(" w" + std::to_string(id));
  bos_id_ = kBos;
  eos_id_ = kEos;
  stop_ids_ = {kEos};
  add_bos_ = true;
}

std::vector<int32_t> SyntheticTokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    if (parse_special) {
      bool matched = false;
      for (int32_t s : {kBos, kEos}) {
        const std::string& p = pieces_[static_cast<size_t>(s)];
        if (text.substr(i, p.size()) == p) {
          ids.push_back(s);
          i += p.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    // " w<digits>" with no leading zero and a value inside the vocabulary is one word token.
    if (text.substr(i, 2) == " w" && i + 2 < text.size() && text[i + 2] >= '1' &&
        text[i + 2] <= '9') {
      size_t j = i + 2;
      int64_t v = 0;
      while (j < text.size() && text[j] >= '0' && text[j] <= '9' && v < n_vocab())
        v = v * 10 + (text[j++] - '0');
      if (v >= kFirstWord && v < n_vocab()) {
        ids.push_back(static_cast<int32_t>(v));
        i = j;
        continue;
      }
    }
    ids.push_back(static_cast<unsigned char>(text[i++]));
  }
  return ids;
}

std::string SyntheticTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

const std::string& SyntheticTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab())
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                std::to_string(n_vocab()) + ")");
  return pieces_[static_cast<size_t>(id)];
}

}  // namespace sgp::model
