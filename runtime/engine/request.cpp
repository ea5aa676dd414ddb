// Requests the engine accepts (generate, score) and the results it hands back.
#include "engine/request.h"

namespace sgp::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Length:
      return "length";
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Eos:
      return "eos";
    case FinishReason::Cancelled:
      return "cancelled";
    case FinishReason::Error:
      return "error";
  }
  return "unknown";
}

}  // namespace sgp::engine
