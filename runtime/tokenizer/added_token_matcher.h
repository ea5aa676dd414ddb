// AddedTokenMatcher: finds added/special token text (e.g. "<|im_start|>") in raw input text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::model {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = true;  // special tokens are only matched when parse_special is on
  bool lstrip = false;  // the match swallows whitespace on its left / right
  bool rstrip = false;
};

class AddedTokenMatcher {
 public:
  void add(const AddedToken& token);
  bool empty() const { return tokens_.empty(); }

  struct Segment {
    std::string_view text;  // ordinary text to tokenize (empty when this is a token)
    int32_t id = -1;        // the matched token, or -1
  };
  // Splits text at leftmost-longest token matches, in order.
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

 private:
  struct Node {
    int32_t child[2] = {-1, -1};  // first child, next sibling
    uint8_t byte = 0;
    int32_t token = -1;  // index into tokens_
  };
  // Longest token matching at text[i], or -1.
  int32_t longest_at(std::string_view text, size_t i, bool parse_special, size_t& len) const;
  std::vector<Node> nodes_{Node{}};
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace sgp::model
