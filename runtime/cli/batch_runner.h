// BatchRunner: `sgrun run --batch`: one program instance per JSONL line, N at a time.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cli/batch_output.h"
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

struct BatchConfig {
  int parallel = 16;  // lines running at once
  bool show_progress = true, progress_tty = false;
  // After the run's cancel token fires, how long running lines get to stop before the batch
  // gives up on them (an extern command cannot be interrupted).
  double grace_seconds = 2;
};

struct BatchStats {
  size_t ok = 0, failed = 0;
  size_t unfinished = 0;     // lines without a record: never started, or cancelled mid-way
  bool interrupted = false;  // the cancel token fired
  // Lines were still running when the grace period ended: the io_context was stopped with their
  // coroutines suspended, so the caller must leave the process without unwinding (std::_Exit).
  bool abandoned = false;
  double seconds = 0;
};

// Runs every line through `interp` (at most `parallel` at once) on its executor's io_context
// and writes one record per finished line to `out`:
// {"line": N, "input": {...}, "output": value} or {"line": N, "input": {...}, "error": "..."}.
// Records are written in input order, each as soon as it and the lines before it are done.
// When `base.cancel` fires (Ctrl-C), no new line starts, running lines are cancelled and get
// no record (a --resume run does them again), and every finished record is written at once,
// out of order if need be. `on_done` runs on the io thread when the last line ended. Call from
// the thread that runs the io_context (it runs it). Throws sgp::Error when `out` fails.
BatchStats run_batch(boost::asio::io_context& io, interp::Interpreter& interp,
                     const std::vector<BatchLine>& lines, const interp::RunOptions& base,
                     BatchOutput& out, const BatchConfig& config,
                     std::function<void()> on_done = {});

}  // namespace sgp::cli
