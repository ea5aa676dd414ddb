// JsonWire: body encoding, error values and JSON event streams.
#include "remote/json_wire.h"

#include "sgp/error.h"

namespace sgp::remote {

std::string body_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string error_message(const Json& e) {
  if (e.is_object() && e.contains("message") && e["message"].is_string())
    return e["message"].get<std::string>();
  if (e.is_string()) return e.get<std::string>();
  return body_text(e);
}

engine::GenerateResult failed_result(std::string message) {
  engine::GenerateResult r;
  r.finish = engine::FinishReason::Error;
  r.error = std::move(message);
  return r;
}

engine::ScoreResult checked_score(const std::string& what,
                                  const std::function<void(engine::ScoreResult&)>& fill) {
  engine::ScoreResult res;
  try {
    fill(res);
  } catch (const Error& e) {
    res.choices.clear();
    res.error = e.what();
  } catch (const std::exception& e) {
    res.choices.clear();
    res.error = what + ": bad answer: " + e.what();
  }
  return res;
}

std::optional<engine::GenerateResult> exchange_failure(const HttpResult& r, const std::string& what,
                                                       const JsonEventStream* stream) {
  if (r.cancelled) {
    engine::GenerateResult res;
    res.finish = engine::FinishReason::Cancelled;
    return res;
  }
  if (std::string f = failure_text(r, what); !f.empty()) return failed_result(f);
  if (stream && !stream->error().empty()) return failed_result(what + ": " + stream->error());
  return std::nullopt;
}

JsonEventStream::JsonEventStream(std::function<void(Json&)> on_object)
    : sse_([this, on_object = std::move(on_object)](const std::string& data) {
        if (data == "[DONE]") return;
        auto j = Json::parse(data, nullptr, false);
        if (j.is_discarded() || !j.is_object())
          throw Error("the event stream holds a non-JSON event");
        if (j.contains("error")) {
          error_ = error_message(j["error"]);
          return;
        }
        on_object(j);
      }) {}

}  // namespace sgp::remote
