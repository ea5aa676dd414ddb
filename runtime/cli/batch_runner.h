// BatchRunner: `sgrun run --batch`: one program instance per JSONL line, N at a time.
#pragma once

#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "interp/interpreter.h"

namespace sgp::cli {

struct BatchLine {
  int line = 0;  // 1-based line number in the input file
  interp::Map args;
  nlohmann::ordered_json input;
};

// Reads a JSONL file of argument objects. Malformed lines are reported on `errors` (with their
// line numbers) and skipped; blank lines are ignored. Throws sgp::Error if the file can't be read.
std::vector<BatchLine> read_batch(const std::string& path, std::FILE* errors, size_t* skipped);

struct BatchStats {
  size_t ok = 0, failed = 0;
  double seconds = 0;
};

// Runs every line through `interp` (at most `parallel` at once) on its executor's io_context
// and writes one JSON object per line to `out`, in input order:
// {"line": N, "input": {...}, "output": value} or {"line": N, "input": {...}, "error": "..."}.
// `on_done` runs on the io thread when the last line finished. Call from the thread that runs the
// io_context (it runs it).
BatchStats run_batch(boost::asio::io_context& io, interp::Interpreter& interp,
                     const std::vector<BatchLine>& lines, int parallel,
                     const interp::RunOptions& base, std::ostream& out, bool progress_tty,
                     bool show_progress, std::function<void()> on_done = {});

}  // namespace sgp::cli
