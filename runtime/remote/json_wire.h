// JsonWire: the JSON conventions both HTTP model clients share (request bodies, error objects,
// streams of JSON events, failed results).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "engine/request.h"
#include "remote/http_client.h"
#include "remote/sse_parser.h"

namespace sgp::remote {

// Ordered, so a JSON Schema keeps the property order the program wrote.
using Json = nlohmann::ordered_json;

// A request body. Text that is not valid UTF-8 (from an extern, say) goes out with U+FFFD rather
// than failing the request.
std::string body_text(const Json& j);

// The message of an API error value: {"message": ...} or a plain string, else its JSON text.
std::string error_message(const Json& error);

engine::GenerateResult failed_result(std::string message);

// Runs `fill` on a fresh result; what it throws becomes the result's error (a JSON access error
// as "WHAT: bad answer: ...", `what` naming the request).
engine::ScoreResult checked_score(const std::string& what,
                                  const std::function<void(engine::ScoreResult&)>& fill);

class JsonEventStream;

// The generate result when the exchange itself failed — cancelled, no usable response, or an
// error event in `stream` (may be null) — else nullopt: the answer is there to be read.
std::optional<engine::GenerateResult> exchange_failure(const HttpResult& r, const std::string& what,
                                                       const JsonEventStream* stream);

// A text/event-stream whose events are JSON objects: "[DONE]" is skipped, an {"error": ...} event
// is kept as error(), every other object goes to on_object. Throws sgp::Error for a non-JSON event.
class JsonEventStream {
 public:
  explicit JsonEventStream(std::function<void(Json&)> on_object);
  void feed(std::string_view bytes) { sse_.feed(bytes); }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  SseParser sse_;
};

}  // namespace sgp::remote
