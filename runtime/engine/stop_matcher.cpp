// StopMatcher: finds stop strings in generated text across token boundaries and decides how
// much text is safe to stream (none that could still turn out to begin a stop string).
#include "engine/stop_matcher.h"

#include <algorithm>

namespace sgp::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) {
      longest_ = std::max(longest_, s.size());
      stops_.push_back(std::move(s));
    }
}

bool StopMatcher::push(std::string_view piece) {
  if (stopped_ || piece.empty()) return stopped_;
  size_t old = text_.size();
  text_.append(piece);
  // A new match must end inside the new piece, so it starts at most longest_-1 bytes earlier.
  size_t from = old >= longest_ ? old - longest_ + 1 : 0;
  size_t best = std::string::npos;
  for (const auto& s : stops_) best = std::min(best, text_.find(s, from));
  if (best == std::string::npos) return false;
  text_.resize(best);
  streamed_ = std::min(streamed_, text_.size());
  stopped_ = true;
  return true;
}

std::string StopMatcher::take_ready() {
  size_t hold = 0;
  if (!stopped_) {
    for (const auto& s : stops_) {
      size_t k = std::min(s.size() - 1, text_.size());
      for (; k > hold; --k)
        if (text_.compare(text_.size() - k, k, s, 0, k) == 0) break;
      hold = std::max(hold, k);
    }
  }
  size_t ready = text_.size() - hold;
  if (ready <= streamed_) return {};
  std::string out = text_.substr(streamed_, ready - streamed_);
  streamed_ = ready;
  return out;
}

std::string StopMatcher::take_rest() {
  std::string out = text_.substr(std::min(streamed_, text_.size()));
  streamed_ = text_.size();
  return out;
}

}  // namespace sgp::engine
