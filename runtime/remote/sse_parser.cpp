// SseParser: the event-stream line rules (data/comment/other fields, CRLF or LF, blank = dispatch).
#include "remote/sse_parser.h"

#include "sgp/error.h"

namespace sgp::remote {

void SseParser::feed(std::string_view bytes) {
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    std::string_view piece = bytes.substr(start, i - start);
    start = i + 1;
    if (!partial_.empty()) {
      partial_.append(piece);
      std::string l = std::move(partial_);
      partial_.clear();
      line(l);
    } else {
      line(piece);
    }
  }
  partial_.append(bytes.substr(start));
  if (partial_.size() > max_event_) throw Error("server sent an over-long event-stream line");
}

void SseParser::line(std::string_view l) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.empty()) {
    if (has_data_) {
      std::string d = std::move(data_);
      data_.clear();
      has_data_ = false;
      on_event_(d);
    }
    return;
  }
  if (l[0] == ':') return;  // comment (keep-alive)
  size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field != "data") return;  // event/id/retry: not used by the APIs spoken here
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
  if (data_.size() > max_event_) throw Error("server sent an over-long event-stream event");
}

}  // namespace sgp::remote
