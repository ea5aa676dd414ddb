// BatchRunner: worker coroutines pull lines from a shared cursor; results are written in order.
#include "cli/batch_runner.h"

#include <chrono>
#include <fstream>
#include <optional>
#include <utility>

#include "cli/progress_bar.h"
#include "interp/asio.h"
#include "sgp/error.h"

namespace sgp::cli {

namespace asio = boost::asio;

std::vector<BatchLine> read_batch(const std::string& path, std::FILE* errors, size_t* skipped) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read batch file: " + path);
  std::vector<BatchLine> out;
  std::string text;
  int line = 0;
  size_t bad = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    auto j = nlohmann::ordered_json::parse(text, nullptr, false);
    std::string why;
    if (j.is_discarded())
      why = "malformed JSON";
    else if (!j.is_object())
      why = "expected a JSON object of arguments";
    if (!why.empty()) {
      ++bad;
      std::fprintf(errors, "%s:%d: skipped: %s\n", path.c_str(), line, why.c_str());
      continue;
    }
    BatchLine b;
    b.line = line;
    b.args = interp::from_json(j).as_map();
    b.input = std::move(j);
    out.push_back(std::move(b));
  }
  if (skipped) *skipped = bad;
  return out;
}

namespace {

struct BatchState {
  const std::vector<BatchLine>& lines;
  interp::Interpreter& interp;
  const interp::RunOptions& base;
  std::ostream& out;
  ProgressBar* bar;
  std::function<void()> on_done;
  size_t cursor = 0, written = 0, ok = 0, failed = 0, workers = 0;
  std::vector<std::optional<nlohmann::ordered_json>> results;

  void flush() {
    while (written < results.size() && results[written]) {
      out << results[written]->dump(-1, ' ', false,
                                    nlohmann::ordered_json::error_handler_t::replace)
          << '\n';
      results[written].reset();
      ++written;
    }
    out.flush();
  }
};

asio::awaitable<void> worker(BatchState& s) {
  while (s.cursor < s.lines.size()) {
    size_t i = s.cursor++;
    const BatchLine& b = s.lines[i];
    interp::RunOptions opts = s.base;
    opts.label = "line " + std::to_string(b.line);
    nlohmann::ordered_json rec = {{"line", b.line}, {"input", b.input}};
    try {
      interp::Value v = co_await s.interp.run_main(b.args, opts);
      rec["output"] = interp::to_json(v);
      ++s.ok;
    } catch (const std::exception& e) {
      rec["error"] = e.what();
      ++s.failed;
    }
    s.results[i] = std::move(rec);
    s.flush();
    if (s.bar) s.bar->update(s.ok + s.failed, s.failed);
  }
  if (--s.workers == 0 && s.on_done) s.on_done();
}

}  // namespace

BatchStats run_batch(asio::io_context& io, interp::Interpreter& interp,
                     const std::vector<BatchLine>& lines, int parallel,
                     const interp::RunOptions& base, std::ostream& out, bool progress_tty,
                     bool show_progress, std::function<void()> on_done) {
  auto t0 = std::chrono::steady_clock::now();
  std::optional<ProgressBar> bar;
  if (show_progress) bar.emplace(lines.size(), progress_tty);
  BatchState s{lines, interp, base, out, bar ? &*bar : nullptr, std::move(on_done), 0, 0,
               0,     0,      0,    {}};
  s.results.resize(lines.size());
  int n = std::max(1, std::min<int>(parallel, static_cast<int>(lines.size())));
  s.workers = static_cast<size_t>(n);
  for (int w = 0; w < n; ++w) asio::co_spawn(io, worker(s), asio::detached);
  io.run();
  io.restart();
  if (bar) bar->finish(s.ok + s.failed, s.failed);
  BatchStats st;
  st.ok = s.ok;
  st.failed = s.failed;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace sgp::cli
