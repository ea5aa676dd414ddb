// SseParser: splits a text/event-stream body into events (the joined `data:` lines of each).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace sgp::remote {

class SseParser {
 public:
  // max_event_bytes bounds one event's data (a lying server cannot grow it without end).
  explicit SseParser(std::function<void(const std::string& data)> on_event,
                     size_t max_event_bytes = 16u << 20)
      : on_event_(std::move(on_event)), max_event_(max_event_bytes) {}

  // Feeds body bytes as they arrive; calls on_event for each complete event. Throws sgp::Error
  // when an event or line exceeds the bound.
  void feed(std::string_view bytes);

 private:
  void line(std::string_view l);
  std::function<void(const std::string&)> on_event_;
  size_t max_event_;
  std::string partial_;  // an unfinished line
  std::string data_;     // the current event's data so far
  bool has_data_ = false;
};

}  // namespace sgp::remote
