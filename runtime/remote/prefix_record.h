// PrefixRecord: an approximate, bounded record of the token prefixes one backend has seen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace sgp::remote {

// Prefixes are kept at block granularity as hashes of the whole prefix (block_tokens at a time),
// so a lookup walks the prompt once and memory is one entry per block. When full, the least
// recently used half is dropped; since every insert refreshes all the shorter prefixes of what it
// records, the longest prefixes go first and the record stays prefix-closed.
class PrefixRecord {
 public:
  explicit PrefixRecord(int block_tokens = 4, size_t max_blocks = size_t{1} << 18);
  void insert(const std::vector<int32_t>& tokens);
  // Tokens of the longest recorded block-aligned prefix of `tokens`.
  size_t match(const std::vector<int32_t>& tokens) const;
  size_t blocks() const { return seen_.size(); }

 private:
  void evict();
  int block_;
  size_t max_blocks_;
  uint64_t tick_ = 0;
  std::unordered_map<uint64_t, uint64_t> seen_;  // prefix hash -> last insert tick
};

}  // namespace sgp::remote
