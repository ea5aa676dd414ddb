// SentencePiece-style BPE: merges come from ranked merges (tokenizer.json) or, for GGUF, from
// the scores of the merged pieces, as sentencepiece itself orders them.
#include "tokenizer/sentencepiece_bpe.h"

#include <cstdio>

#include "sgp/error.h"
#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // ▁

// "<0x41>" → 0x41, or -1.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int v = 0;
  for (size_t i = 3; i < 5; ++i) {
    char c = text[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

std::string replace_space_marks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

SentencePieceBpe::SentencePieceBpe(const TokenizerSpec& spec)
    : VocabTokenizer(spec),
      dummy_prefix_(spec.dummy_prefix),
      prefix_unless_space_(spec.prefix_unless_space),
      split_on_space_(spec.split_on_space),
      byte_fallback_(spec.byte_fallback),
      fuse_unk_(spec.fuse_unk),
      unk_id_(spec.unk_id) {
  byte_ids_.fill(-1);
  bytes_.resize(spec.vocab.size());
  for (size_t i = 0; i < spec.vocab.size(); ++i) {
    const std::string& text = spec.vocab[i];
    TokenType type = spec.types[i];
    int32_t id = static_cast<int32_t>(i);
    int byte = (type == TokenType::Byte || (byte_fallback_ && type == TokenType::Normal))
                   ? parse_byte_token(text)
                   : -1;
    if (byte >= 0) {
      bytes_[i] = std::string(1, static_cast<char>(byte));
      if (byte_ids_[byte] < 0) byte_ids_[byte] = id;
    } else if (type == TokenType::Normal) {
      bytes_[i] = replace_space_marks(text);
      if (!text.empty()) ids_by_text_.try_emplace(text, id);
    } else {
      bytes_[i] = text;
    }
  }
  if (!spec.merges.empty()) {
    merges_.add_ranked(spec.merges, ids_by_text_);
    return;
  }
  // No merge list (GGUF): every split of a piece into two pieces is a merge, ranked by the
  // merged piece's score, higher first.
  for (const auto& [text, id] : ids_by_text_) {
    float priority = static_cast<size_t>(id) < spec.scores.size() ? -spec.scores[id] : 0.0f;
    for (size_t k = 1; k < text.size(); ++k) {
      if ((static_cast<uint8_t>(text[k]) & 0xC0) == 0x80) continue;  // not a character boundary
      auto l = ids_by_text_.find(std::string_view(text).substr(0, k));
      if (l == ids_by_text_.end()) continue;
      auto r = ids_by_text_.find(std::string_view(text).substr(k));
      if (r == ids_by_text_.end()) continue;
      merges_.add(l->second, r->second, id, priority);
    }
  }
}

void SentencePieceBpe::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool last_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t len = utf8_valid_length(word, i);
    if (len == 0) len = 1;
    auto it = ids_by_text_.find(word.substr(i, len));
    if (it != ids_by_text_.end()) {
      symbols.push_back(it->second);
      last_unk = false;
    } else {
      bool have_bytes = byte_fallback_;
      for (size_t k = 0; have_bytes && k < len; ++k)
        have_bytes = byte_ids_[static_cast<uint8_t>(word[i + k])] >= 0;
      if (have_bytes) {
        for (size_t k = 0; k < len; ++k)
          symbols.push_back(byte_ids_[static_cast<uint8_t>(word[i + k])]);
        last_unk = false;
      } else if (unk_id_ >= 0 && !(fuse_unk_ && last_unk)) {
        symbols.push_back(unk_id_);
        last_unk = true;
      }
    }
    i += len;
  }
  merges_.apply(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void SentencePieceBpe::encode_text(std::string_view text, bool at_start,
                                   std::vector<int32_t>& out) const {
  std::string norm;
  norm.reserve(text.size() + text.size() / 2 + 3);
  bool prefix = dummy_prefix_ == DummyPrefix::EverySegment ||
                (dummy_prefix_ == DummyPrefix::FirstSegment && at_start);
  if (prefix && !(prefix_unless_space_ && !text.empty() && text[0] == ' ')) norm += kSpace;
  for (char c : text) {
    if (c == ' ')
      norm += kSpace;
    else
      norm += c;
  }
  if (!split_on_space_) {
    encode_word(norm, out);
    return;
  }
  // Metaspace split: each word starts at a "▁".
  std::string_view all(norm);
  size_t start = 0;
  for (size_t i = 1; i <= all.size(); ++i) {
    if (i < all.size() && all.compare(i, kSpace.size(), kSpace) != 0) continue;
    encode_word(all.substr(start, i - start), out);
    start = i;
  }
}

}  // namespace sgp::model
