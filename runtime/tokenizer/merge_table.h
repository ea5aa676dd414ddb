// MergeTable: which adjacent token pairs merge into which token, and in what order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/token_index.h"

namespace sgp::model {

class MergeTable {
 public:
  // Lower priority merges first (a merge rank, or minus a SentencePiece score). A pair added
  // twice keeps its first entry, as HF keeps the first rank of a repeated merge.
  void add(int32_t left, int32_t right, int32_t merged, float priority);
  // Merges written as text pairs, ranked by position; pairs naming unknown tokens are skipped.
  void add_ranked(const std::vector<std::pair<std::string, std::string>>& merges,
                  const TokenIndex& ids);
  size_t size() const { return pairs_.size(); }

  // Repeatedly merges the adjacent pair of lowest priority (leftmost on ties) until none
  // applies. `symbols` holds token ids and is rewritten in place.
  void apply(std::vector<int32_t>& symbols) const;

 private:
  struct Entry {
    int32_t merged;
    float priority;
  };
  const Entry* find(int32_t left, int32_t right) const;
  static uint64_t key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  std::unordered_map<uint64_t, Entry> pairs_;
};

}  // namespace sgp::model
