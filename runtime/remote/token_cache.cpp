// TokenCache: LRU bookkeeping (the index keys view the strings stored in the list entries).
#include "remote/token_cache.h"

namespace sgp::remote {

std::string TokenCache::key(std::string_view text, bool parse_special) {
  std::string k(1, parse_special ? 'S' : 'T');
  k.append(text);
  return k;
}

std::optional<std::vector<int32_t>> TokenCache::get(std::string_view text, bool parse_special) {
  std::string k = key(text, parse_special);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(k);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->ids;
}

void TokenCache::put(std::string_view text, bool parse_special, std::vector<int32_t> ids) {
  std::string k = key(text, parse_special);
  if (k.size() > max_bytes_ / 4) return;  // one huge text would flush everything else
  std::lock_guard<std::mutex> lock(mu_);
  if (index_.count(k)) return;
  lru_.push_front(Entry{std::move(k), std::move(ids)});
  index_.emplace(std::string_view(lru_.front().key), lru_.begin());
  bytes_ += lru_.front().key.size() + lru_.front().ids.size() * sizeof(int32_t);
  while (lru_.size() > max_entries_ || bytes_ > max_bytes_) {
    Entry& old = lru_.back();
    bytes_ -= old.key.size() + old.ids.size() * sizeof(int32_t);
    index_.erase(std::string_view(old.key));
    lru_.pop_back();
  }
}

}  // namespace sgp::remote
