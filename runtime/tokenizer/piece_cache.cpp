// PieceCache: young/old generations under one mutex; find() promotes old hits.
#include "tokenizer/piece_cache.h"

#include <utility>

namespace sgp::model {

PieceCache::PieceCache(size_t max_bytes, size_t max_piece)
    : max_bytes_(max_bytes), max_piece_(max_piece) {}

size_t PieceCache::entry_bytes(size_t piece_size, size_t tokens) {
  // Node, hash bucket, std::string and std::vector headers: about 96 bytes on 64-bit libstdc++.
  constexpr size_t kOverhead = 96;
  return kOverhead + piece_size + tokens * sizeof(int32_t);
}

bool PieceCache::find(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() > max_piece_) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = young_.find(piece); it != young_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  auto it = old_.find(piece);
  if (it == old_.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  auto node = old_.extract(it);
  old_bytes_ -= entry_bytes(node.key().size(), node.mapped().size());
  insert_locked(std::move(node.key()), std::move(node.mapped()));
  return true;
}

void PieceCache::insert(std::string_view piece, const std::vector<int32_t>& tokens) {
  if (piece.size() > max_piece_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (young_.count(piece) || old_.count(piece)) return;  // another thread was first
  insert_locked(std::string(piece), tokens);
}

void PieceCache::insert_locked(std::string key, std::vector<int32_t> tokens) const {
  size_t cost = entry_bytes(key.size(), tokens.size());
  if (cost > max_bytes_ / 2) return;
  if (young_bytes_ + cost > max_bytes_ / 2) {
    old_ = std::move(young_);
    old_bytes_ = young_bytes_;
    young_ = Map();
    young_bytes_ = 0;
  }
  young_.emplace(std::move(key), std::move(tokens));
  young_bytes_ += cost;
}

size_t PieceCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return young_.size() + old_.size();
}

size_t PieceCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return young_bytes_ + old_bytes_;
}

}  // namespace sgp::model
