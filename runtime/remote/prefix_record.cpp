// PrefixRecord: rolling prefix hashes and least-recently-used eviction.
#include "remote/prefix_record.h"

#include <algorithm>

namespace sgp::remote {

namespace {

uint64_t mix(uint64_t h, int32_t token) {
  uint64_t x = h ^ (static_cast<uint64_t>(static_cast<uint32_t>(token)) + 0x9e3779b97f4a7c15ull);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

PrefixRecord::PrefixRecord(int block_tokens, size_t max_blocks)
    : block_(std::max(1, block_tokens)), max_blocks_(std::max<size_t>(16, max_blocks)) {}

void PrefixRecord::insert(const std::vector<int32_t>& tokens) {
  ++tick_;
  uint64_t h = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    h = mix(h, tokens[i]);
    if ((i + 1) % block_ == 0) seen_[h] = tick_;
  }
  if (seen_.size() > max_blocks_) evict();
}

size_t PrefixRecord::match(const std::vector<int32_t>& tokens) const {
  uint64_t h = 0;
  size_t best = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    h = mix(h, tokens[i]);
    if ((i + 1) % block_ != 0) continue;
    if (!seen_.count(h)) break;
    best = i + 1;
  }
  return best;
}

void PrefixRecord::evict() {
  std::vector<uint64_t> ticks;
  ticks.reserve(seen_.size());
  for (const auto& kv : seen_) ticks.push_back(kv.second);
  auto mid = ticks.begin() + ticks.size() / 2;
  std::nth_element(ticks.begin(), mid, ticks.end());
  uint64_t cut = *mid;
  for (auto it = seen_.begin(); it != seen_.end();)
    it = it->second < cut ? seen_.erase(it) : std::next(it);
  // All of one tick (one huge prompt) survived: drop it too rather than stay over the bound.
  if (seen_.size() > max_blocks_) seen_.clear();
}

}  // namespace sgp::remote
