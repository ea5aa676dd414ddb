// PieceCache: a bounded, thread-safe memo of pre-tokenized pieces and their BPE tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/token_index.h"

namespace sgp::model {

// A long-running server sees an endless stream of new words, so the memo must not grow with
// them. Two generations bound it: entries go into the young map; when that holds half the
// budget it becomes the old map and the previous old map is dropped. A hit in the old map moves
// the entry back to the young one, so pieces in steady use survive every turnover.
class PieceCache {
 public:
  // `max_bytes` counts keys, token ids and a fixed per-entry overhead; pieces longer than
  // `max_piece` bytes are never cached (they are rare and would crowd out the common ones).
  explicit PieceCache(size_t max_bytes = 8u << 20, size_t max_piece = 64);

  // Appends the cached tokens of `piece` to `out`; false when it is not cached.
  bool find(std::string_view piece, std::vector<int32_t>& out) const;
  void insert(std::string_view piece, const std::vector<int32_t>& tokens);

  size_t entries() const;
  size_t bytes() const;
  size_t max_bytes() const { return max_bytes_; }
  // The bytes one entry is charged: its key, its ids and the map node around them.
  static size_t entry_bytes(size_t piece_size, size_t tokens);

 private:
  using Map = std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>>;
  void insert_locked(std::string key, std::vector<int32_t> tokens) const;

  size_t max_bytes_, max_piece_;
  mutable std::mutex mu_;
  mutable Map young_, old_;
  mutable size_t young_bytes_ = 0, old_bytes_ = 0;
};

}  // namespace sgp::model
