// RuntimeError formatting.
#include "interp/runtime_error.h"

namespace sgp::interp {

std::string format_runtime_error(const std::string& message, const std::vector<TraceFrame>& trace) {
  std::string out = "runtime error: " + message;
  for (const TraceFrame& f : trace) {
    out += "\n  at " + f.file + ":" + std::to_string(f.line) + ":" + std::to_string(f.col);
    if (!f.function.empty()) out += " in " + f.function;
  }
  return out;
}

RuntimeError::RuntimeError(std::string message, std::vector<TraceFrame> trace)
    : Error(format_runtime_error(message, trace)),
      message_(std::move(message)),
      trace_(std::move(trace)) {}

}  // namespace sgp::interp
