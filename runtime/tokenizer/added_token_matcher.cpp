// A byte trie (first-child / next-sibling) scanned at each position that can start a token.
#include "tokenizer/added_token_matcher.h"

#include "tokenizer/utf8.h"

namespace sgp::model {

namespace {

// Byte length of the whitespace character (Unicode White_Space, as Rust's is_whitespace) that
// starts at text[i], or 0.
size_t space_at(std::string_view text, size_t i) {
  size_t len = utf8_valid_length(text, i);
  if (len == 0) return 0;
  std::vector<CodeUnit> unit;
  decode_utf8(text.substr(i, len), unit);
  return unit[0].cls == CharClass::Space ? len : 0;
}

// Start of the whitespace character that ends just before text[end], or end if there is none.
size_t space_before(std::string_view text, size_t begin, size_t end) {
  size_t i = end;
  while (i > begin && (static_cast<uint8_t>(text[i - 1]) & 0xC0) == 0x80 && end - i < 3) --i;
  if (i > begin) --i;
  return i < end && space_at(text, i) == end - i ? i : end;
}

}  // namespace

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  int32_t node = 0;
  for (char ch : token.content) {
    uint8_t b = static_cast<uint8_t>(ch);
    int32_t c = nodes_[node].child[0];
    while (c >= 0 && nodes_[c].byte != b) c = nodes_[c].child[1];
    if (c < 0) {
      Node fresh;
      fresh.byte = b;
      fresh.child[1] = nodes_[node].child[0];
      c = static_cast<int32_t>(nodes_.size());
      nodes_.push_back(fresh);
      nodes_[node].child[0] = c;
    }
    node = c;
  }
  if (nodes_[node].token >= 0) return;  // same text twice: the first id wins
  nodes_[node].token = static_cast<int32_t>(tokens_.size());
  tokens_.push_back(token);
  first_byte_[static_cast<uint8_t>(token.content[0])] = true;
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t i, bool parse_special,
                                      size_t& len) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t k = i; k < text.size(); ++k) {
    uint8_t b = static_cast<uint8_t>(text[k]);
    int32_t c = nodes_[node].child[0];
    while (c >= 0 && nodes_[c].byte != b) c = nodes_[c].child[1];
    if (c < 0) break;
    node = c;
    int32_t t = nodes_[node].token;
    if (t >= 0 && (parse_special || !tokens_[t].special)) {
      best = t;
      len = k + 1 - i;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special,
                              std::vector<Segment>& out) const {
  out.clear();
  size_t start = 0;  // start of pending ordinary text
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 0;
    int32_t t =
        first_byte_[static_cast<uint8_t>(text[i])] ? longest_at(text, i, parse_special, len) : -1;
    if (t < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t b = i, e = i + len;
    if (tok.lstrip)
      for (size_t p; b > start && (p = space_before(text, start, b)) < b;) b = p;
    if (tok.rstrip)
      for (size_t n; e < text.size() && (n = space_at(text, e)) > 0;) e += n;
    if (b > start) out.push_back({text.substr(start, b - start), -1});
    out.push_back({{}, tok.id});
    start = i = e;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
}

}  // namespace sgp::model
