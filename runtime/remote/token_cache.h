// TokenCache: a bounded LRU map from (text, parse_special) to token ids, for remote tokenizers.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sgp::remote {

// Thread-safe. Programs append the same literal pieces over and over (few-shot examples, role
// markers), so a remote round trip per piece is paid once.
class TokenCache {
 public:
  explicit TokenCache(size_t max_entries = 8192, size_t max_text_bytes = 8u << 20)
      : max_entries_(max_entries), max_bytes_(max_text_bytes) {}
  std::optional<std::vector<int32_t>> get(std::string_view text, bool parse_special);
  void put(std::string_view text, bool parse_special, std::vector<int32_t> ids);

 private:
  struct Entry {
    std::string key;
    std::vector<int32_t> ids;
  };
  static std::string key(std::string_view text, bool parse_special);
  std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  size_t max_entries_, max_bytes_;
};

}  // namespace sgp::remote
