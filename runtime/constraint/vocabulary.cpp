// Vocabulary: construction, fingerprint and preorder trie.
#include "constraint/vocabulary.h"

#include <algorithm>
#include <fstream>
#include <numeric>

#include "sgp/error.h"
#include "tokenizer/tokenizer.h"

namespace sgp::constraint {

namespace {

TokenTrie build_trie(const std::vector<std::string>& bytes, const std::vector<bool>& excluded) {
  std::vector<int32_t> order;
  for (int32_t i = 0; i < static_cast<int32_t>(bytes.size()); ++i)
    if (!excluded[i]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return bytes[a] < bytes[b]; });
  TokenTrie trie;
  std::vector<int32_t> path;  // node index at each depth - 1 of the previous token
  const std::string* prev = nullptr;
  for (int32_t id : order) {
    const std::string& s = bytes[id];
    size_t common = 0;
    if (prev) {
      size_t limit = std::min({prev->size(), s.size(), path.size()});
      while (common < limit && (*prev)[common] == s[common]) ++common;
    }
    // Subtrees deeper than the shared prefix are complete.
    for (size_t d = common; d < path.size(); ++d)
      trie.nodes[path[d]].skip = static_cast<int32_t>(trie.nodes.size());
    path.resize(common);
    for (size_t d = common; d < s.size(); ++d) {
      TokenTrie::Node node;
      node.byte = static_cast<uint8_t>(s[d]);
      node.depth = static_cast<uint8_t>(d + 1);
      node.tokens_begin = node.tokens_end = static_cast<int32_t>(trie.token_ids.size());
      path.push_back(static_cast<int32_t>(trie.nodes.size()));
      trie.nodes.push_back(node);
    }
    // Equal strings sort together, so a node's tokens stay contiguous.
    TokenTrie::Node& leaf = trie.nodes[path.back()];
    if (leaf.tokens_end != static_cast<int32_t>(trie.token_ids.size())) {
      leaf.tokens_begin = leaf.tokens_end = static_cast<int32_t>(trie.token_ids.size());
    }
    trie.token_ids.push_back(id);
    leaf.tokens_end = static_cast<int32_t>(trie.token_ids.size());
    trie.max_depth = std::max(trie.max_depth, static_cast<int>(s.size()));
    prev = &s;
  }
  for (int32_t idx : path) trie.nodes[idx].skip = static_cast<int32_t>(trie.nodes.size());
  return trie;
}

}  // namespace

Vocabulary::Vocabulary(std::vector<std::string> token_bytes, std::vector<bool> excluded)
    : bytes_(std::move(token_bytes)), excluded_(std::move(excluded)) {
  excluded_.resize(bytes_.size(), false);
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (size_t i = 0; i < bytes_.size(); ++i) {
    if (bytes_[i].empty() || bytes_[i].size() > kMaxTokenBytes) excluded_[i] = true;
    mix(excluded_[i] ? 0x1000 + bytes_[i].size() : bytes_[i].size());
    for (char c : bytes_[i]) mix(static_cast<uint8_t>(c));
  }
  fingerprint_ = h;
  trie_ = build_trie(bytes_, excluded_);
}

std::shared_ptr<const Vocabulary> Vocabulary::from_tokenizer(const model::Tokenizer& tokenizer) {
  const int32_t n = tokenizer.n_vocab();
  std::vector<std::string> bytes(n);
  std::vector<bool> excluded(n, false);
  for (int32_t i = 0; i < n; ++i) {
    excluded[i] = tokenizer.is_special(i);
    if (!excluded[i]) bytes[i] = tokenizer.token_bytes(i);
  }
  for (int32_t id : tokenizer.stop_ids())
    if (id >= 0 && id < n) excluded[id] = true;
  if (tokenizer.eos_id() >= 0 && tokenizer.eos_id() < n) excluded[tokenizer.eos_id()] = true;
  return std::make_shared<const Vocabulary>(std::move(bytes), std::move(excluded));
}

std::shared_ptr<const Vocabulary> Vocabulary::from_hex_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw sgp::Error("cannot open vocabulary file " + path);
  std::vector<std::string> bytes;
  std::vector<bool> excluded;
  std::string line;
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw sgp::Error(path + ": bad hex on line " + std::to_string(bytes.size() + 1));
  };
  while (std::getline(in, line)) {
    if (line.size() < 2 || (line[0] != 'n' && line[0] != 's') || line[1] != ' ' ||
        line.size() % 2 != 0) {
      throw sgp::Error(path + ": bad line " + std::to_string(bytes.size() + 1));
    }
    std::string b;
    for (size_t i = 2; i + 1 < line.size(); i += 2)
      b += static_cast<char>(nibble(line[i]) * 16 + nibble(line[i + 1]));
    excluded.push_back(line[0] == 's');
    bytes.push_back(std::move(b));
  }
  return std::make_shared<const Vocabulary>(std::move(bytes), std::move(excluded));
}

}  // namespace sgp::constraint
