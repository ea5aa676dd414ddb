// Splits input at added tokens, tokenizes the text between them, and decodes by concatenation.
#include "tokenizer/vocab_tokenizer.h"

#include "sgp/error.h"
#include "tokenizer/unicode_nfc.h"

namespace sgp::model {

VocabTokenizer::VocabTokenizer(const TokenizerSpec& spec) {
  bos_id_ = spec.bos_id;
  eos_id_ = spec.eos_id;
  stop_ids_ = spec.stop_ids;
  add_bos_ = spec.add_bos;
  chat_template_ = spec.chat_template;
  strip_leading_space_ = spec.dummy_prefix != DummyPrefix::None;
  nfc_ = spec.nfc;
  special_.assign(spec.vocab.size(), false);
  for (size_t i = 0; i < spec.types.size(); ++i)
    special_[i] = spec.types[i] == TokenType::Control || spec.types[i] == TokenType::Unknown;
  for (const AddedToken& t : spec.added) {
    added_.add(t);
    if (t.special) special_[t.id] = true;
  }
}

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::string normalized;
  auto encode_segment = [&](std::string_view seg, bool at_start) {
    if (nfc_ && !surely_nfc(seg)) {
      normalized = to_nfc(seg);
      seg = normalized;
    }
    encode_text(seg, at_start, out);
  };
  if (added_.empty()) {
    if (!text.empty()) encode_segment(text, true);
    return out;
  }
  std::vector<AddedTokenMatcher::Segment> segments;
  added_.split(text, parse_special, segments);
  for (const auto& seg : segments) {
    if (seg.id >= 0)
      out.push_back(seg.id);
    else
      encode_segment(seg.text, seg.text.data() == text.data());
  }
  return out;
}

const std::string& VocabTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= bytes_.size())
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                std::to_string(bytes_.size()) + ")");
  return bytes_[id];
}

bool VocabTokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id];
}

std::string VocabTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  if (strip_leading_space_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

}  // namespace sgp::model
