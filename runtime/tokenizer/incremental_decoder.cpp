// IncrementalDecoder: holds back the bytes of an unfinished UTF-8 sequence between tokens.
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
}

std::string IncrementalDecoder::push(int32_t id) {
  std::string_view bytes = tok_.token_bytes(id);
  if (at_start_ && !bytes.empty()) {
    if (tok_.decode_strips_leading_space() && bytes[0] == ' ') bytes.remove_prefix(1);
    at_start_ = false;
  }
  pending_.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    if (static_cast<uint8_t>(pending_[i]) < 0x80) {
      out += pending_[i++];
      continue;
    }
    bool incomplete;
    size_t len = utf8_prefix_length(pending_, i, incomplete);
    if (incomplete) break;
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(pending_, i, len);
      i += len;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out;
  if (!pending_.empty()) out = kReplacement;
  pending_.clear();
  return out;
}

}  // namespace sgp::model
