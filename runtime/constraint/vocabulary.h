// Vocabulary: each token's bytes as plain data, plus a prefix trie that automata walk to find legal
// tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sgp::model {
class Tokenizer;
}

namespace sgp::constraint {

// The vocabulary's tokens in one prefix tree, stored in preorder so a walk is one linear scan
// that skips a whole subtree when its first byte is illegal.
struct TokenTrie {
  struct Node {
    uint8_t byte = 0;
    uint8_t depth = 0;         // 1 for the first byte of a token
    int32_t skip = 0;          // index of the first node after this subtree
    int32_t tokens_begin = 0;  // tokens ending exactly here: token_ids[tokens_begin, tokens_end)
    int32_t tokens_end = 0;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> token_ids;
  int max_depth = 0;
};

class Vocabulary {
 public:
  // `excluded[i]`: token i is never produced by a constraint (special/control tokens, EOS).
  // Tokens with no bytes, or longer than kMaxTokenBytes, are excluded as well.
  Vocabulary(std::vector<std::string> token_bytes, std::vector<bool> excluded);
  // Every token the tokenizer reports as special is excluded.
  static std::shared_ptr<const Vocabulary> from_tokenizer(const model::Tokenizer& tokenizer);
  // The test-data format written by tools/make_constraint_vocab.py. Throws sgp::Error.
  static std::shared_ptr<const Vocabulary> from_hex_file(const std::string& path);

  static constexpr size_t kMaxTokenBytes = 255;

  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  const std::string& bytes(int32_t id) const { return bytes_[id]; }
  bool excluded(int32_t id) const { return excluded_[id]; }
  // A hash of the contents: equal vocabularies share cached automata.
  uint64_t fingerprint() const { return fingerprint_; }
  const TokenTrie& trie() const { return trie_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<bool> excluded_;
  uint64_t fingerprint_ = 0;
  TokenTrie trie_;
};

}  // namespace sgp::constraint
