// StopMatcher: finds stop strings in generated text across token boundaries and decides how
// much text is safe to stream (none that could still turn out to begin a stop string).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sgp::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends decoded text. Returns true when a stop string is complete; the text is then cut
  // just before it and nothing more may be pushed.
  bool push(std::string_view piece);
  bool stopped() const { return stopped_; }
  const std::string& text() const { return text_; }

  // The part of the text not streamed yet that can no longer be the start of a stop string.
  std::string take_ready();
  // Everything not streamed yet (at the end of the request).
  std::string take_rest();

 private:
  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string text_;
  size_t streamed_ = 0;
  bool stopped_ = false;
};

}  // namespace sgp::engine
