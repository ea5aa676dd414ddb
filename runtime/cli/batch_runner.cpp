// BatchRunner: worker coroutines pull lines from a shared cursor; results are written in order.
#include "cli/batch_runner.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
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

enum class Slot { Pending, Ready, Written, Dropped };

struct BatchState {
  BatchState(const std::vector<BatchLine>& l, interp::Interpreter& in, const interp::RunOptions& b,
             BatchOutput& o, ProgressBar* pb, std::function<void()> done)
      : lines(l), interp(in), base(b), out(o), bar(pb), on_done(std::move(done)) {}

  const std::vector<BatchLine>& lines;
  interp::Interpreter& interp;
  const interp::RunOptions& base;
  BatchOutput& out;
  ProgressBar* bar;
  std::function<void()> on_done;
  size_t cursor = 0, written = 0, ok = 0, failed = 0, workers = 0;
  std::vector<Slot> slots;
  std::vector<nlohmann::ordered_json> results;
  std::exception_ptr write_error;
  asio::steady_timer* watchdog = nullptr;

  bool cancelled() const { return base.cancel && base.cancel->cancelled(); }

  void write(size_t i) {
    if (!write_error) {
      try {
        out.write(results[i]);
      } catch (...) {
        write_error = std::current_exception();  // stop the batch: nothing more can be kept
        if (base.cancel) base.cancel->cancel();
      }
    }
    results[i] = nullptr;
    slots[i] = Slot::Written;
  }

  // In input order; once cancelled, every finished record (none is held back for a gap that
  // will never be filled).
  void flush() {
    while (written < slots.size() && slots[written] != Slot::Pending) {
      if (slots[written] == Slot::Ready) write(written);
      ++written;
    }
    if (cancelled())
      for (size_t i = written; i < slots.size(); ++i)
        if (slots[i] == Slot::Ready) write(i);
  }
};

asio::awaitable<void> worker(BatchState& s) {
  while (s.cursor < s.lines.size() && !s.cancelled()) {
    size_t i = s.cursor++;
    const BatchLine& b = s.lines[i];
    interp::RunOptions opts = s.base;
    opts.label = "line " + std::to_string(b.line);
    nlohmann::ordered_json rec = {{"line", b.line}, {"input", b.input}};
    bool ok = true;
    try {
      interp::Value v = co_await s.interp.run_main(b.args, opts);
      rec["output"] = interp::to_json(v);
    } catch (const std::exception& e) {
      rec["error"] = e.what();
      ok = false;
    }
    if (!ok && s.cancelled()) {
      s.slots[i] = Slot::Dropped;  // cut short by the cancel, not a result
    } else {
      ++(ok ? s.ok : s.failed);
      s.results[i] = std::move(rec);
      s.slots[i] = Slot::Ready;
    }
    s.flush();
    if (s.bar) s.bar->update(s.ok + s.failed, s.failed);
  }
  if (--s.workers == 0) {
    s.flush();
    if (s.watchdog) s.watchdog->cancel();
    if (s.on_done) s.on_done();
  }
}

// Notices the cancel token (it may fire from a signal handler or another thread), writes what
// is finished, and stops the io_context if running lines outlive the grace period.
asio::awaitable<void> watch(BatchState& s, asio::io_context& io, asio::steady_timer& timer,
                            double grace_seconds, bool& abandoned) {
  std::optional<std::chrono::steady_clock::time_point> since;
  while (s.workers > 0) {
    timer.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (s.workers == 0 || !s.cancelled()) continue;
    auto now = std::chrono::steady_clock::now();
    if (!since) {
      since = now;
      s.flush();
    }
    if (now - *since > std::chrono::duration<double>(grace_seconds)) {
      s.flush();
      abandoned = true;
      io.stop();
      co_return;
    }
  }
}

}  // namespace

BatchStats run_batch(asio::io_context& io, interp::Interpreter& interp,
                     const std::vector<BatchLine>& lines, const interp::RunOptions& base,
                     BatchOutput& out, const BatchConfig& config, std::function<void()> on_done) {
  auto t0 = std::chrono::steady_clock::now();
  BatchStats st;
  std::optional<ProgressBar> bar;
  if (config.show_progress) bar.emplace(lines.size(), config.progress_tty);
  BatchState s(lines, interp, base, out, bar ? &*bar : nullptr, std::move(on_done));
  s.slots.assign(lines.size(), Slot::Pending);
  s.results.resize(lines.size());
  asio::steady_timer timer(io);
  if (lines.empty()) {
    if (s.on_done) s.on_done();
  } else {
    int n = std::max(1, std::min<int>(config.parallel, static_cast<int>(lines.size())));
    s.workers = static_cast<size_t>(n);
    for (int w = 0; w < n; ++w) asio::co_spawn(io, worker(s), asio::detached);
    if (base.cancel) {
      s.watchdog = &timer;
      asio::co_spawn(io, watch(s, io, timer, config.grace_seconds, st.abandoned), asio::detached);
    }
  }
  io.run();
  io.restart();
  if (!st.abandoned && bar) bar->finish(s.ok + s.failed, s.failed);
  st.ok = s.ok;
  st.failed = s.failed;
  st.unfinished = lines.size() - s.ok - s.failed;
  st.interrupted = s.cancelled();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (s.write_error) std::rethrow_exception(s.write_error);
  return st;
}

}  // namespace sgp::cli
