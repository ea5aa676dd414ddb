// RuntimeError: a failed program instance — the message plus its .sgp stack trace.
#pragma once

#include <string>
#include <vector>

#include "sgp/error.h"

namespace sgp::interp {

// One frame of the trace, innermost first: "file:line:col in fn".
struct TraceFrame {
  std::string file;
  int line = 0;
  int col = 0;
  std::string function;
};

class RuntimeError : public Error {
 public:
  RuntimeError(std::string message, std::vector<TraceFrame> trace);
  const std::string& message() const { return message_; }
  const std::vector<TraceFrame>& trace() const { return trace_; }

 private:
  std::string message_;
  std::vector<TraceFrame> trace_;
};

// "error: message\n  at file:line:col in fn\n..."
std::string format_runtime_error(const std::string& message, const std::vector<TraceFrame>& trace);

}  // namespace sgp::interp
