// sgp.hpp: the C++ embedding API — load a model, compile programs, run them (sync or awaitable).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

// clang-format off
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
// clang-format on

#include "sgp/error.h"

namespace sgp {

using Json = nlohmann::ordered_json;

struct ModelOptions {
  std::string path;            // GGUF file or HF folder; "" = the default model
  int threads = 0;             // 0: every core
  size_t kv_memory_bytes = 0;  // 0: the engine's default
  bool radix_cache = true;
};

// A loaded model and its engine (batching every run that uses it). Thread-safe.
class Model {
 public:
  static std::shared_ptr<Model> load(const ModelOptions& options = {});  // throws sgp::Error
  ~Model();
  std::string name() const;
  struct Impl;
  std::shared_ptr<Impl> impl;
};

// A compiled program (immutable; share it between runs and threads).
class Program {
 public:
  // Throw sgp::Error whose message holds every diagnostic (file:line:col: error: ...).
  static Program compile_file(const std::string& path);
  static Program compile_source(const std::string& name, const std::string& text);
  struct Impl;
  std::shared_ptr<const Impl> impl;
};

// Cancels the runs it was given to (thread-safe; cancelling twice is harmless).
class Cancellation {
 public:
  Cancellation();
  void cancel();
  struct Impl;
  std::shared_ptr<Impl> impl;
};

struct RunOptions {
  std::function<void(std::string_view text)> on_text;   // generated text as it is produced
  std::function<void(std::string_view text)> on_print;  // print(); default: stdout
  bool greedy = false;                                  // temperature 0 everywhere
  int64_t max_steps = 1'000'000;
  Cancellation cancel;
};

// Host functions bound to `extern fn` declarations. Sync: return the result or throw (the
// program sees a runtime error; the host is unharmed). Async: call `done` exactly once, from
// any thread, with the result or a non-empty error.
using HostFunction = std::function<Json(const Json& args)>;
using HostDone = std::function<void(Json result, std::string error)>;
using AsyncHostFunction = std::function<void(Json args, HostDone done)>;

// One piece of generated text: the name its gen binds (`gen NAME(...)`) and the text.
struct TextPiece {
  std::string gen;
  std::string text;
};

// A run started by Runtime::stream: its generated text, piece by piece in the order it was
// produced (the pieces of concurrent fork branches interleave; each names its gen), then its
// return value. Copies share the run. Pieces nobody reads are kept until read.
class TextStream {
 public:
  // The next piece; nullopt once the run has ended and every piece was read. co_await it from
  // a coroutine on Runtime::executor().
  boost::asio::awaitable<std::optional<TextPiece>> next();
  // The run's return value, once it ended; throws sgp::Error (with the .sgp stack trace) when it
  // failed or was cancelled. co_await it on Runtime::executor().
  boost::asio::awaitable<Json> result();
  // The same, blocking: for any thread except Runtime::executor()'s.
  std::optional<TextPiece> next_blocking();
  Json result_blocking();
  // Cancels the run (thread-safe): its gens stop, result() throws "cancelled".
  void cancel();

  struct Impl;
  std::shared_ptr<Impl> impl;
};

// Runs programs on a model: owns the io_context thread the interpreter's coroutines live on.
class Runtime {
 public:
  explicit Runtime(std::shared_ptr<Model> model);
  // Cancels the runs still going and waits until they have ended (an async host function in
  // flight must still call done); their streams end with a "cancelled" error. Never call it
  // from executor() or a host function.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void bind(const std::string& name, HostFunction fn);
  void bind_async(const std::string& name, AsyncHostFunction fn);

  // Calls main with the named arguments (a JSON object); blocks until it returns. Throws
  // sgp::Error (a runtime error carries the .sgp stack trace). Never call it from a host
  // function or from executor() (it would wait on itself).
  Json run(const Program& program, const Json& args = Json::object(), RunOptions options = {});
  // The same as an awaitable; co_await it from a coroutine running on executor().
  boost::asio::awaitable<Json> run_async(Program program, Json args, RunOptions options = {});
  // Starts main at once and returns its text stream (options.on_text still works alongside;
  // options.cancel cancels it too). Callable from any thread, the executor's included.
  TextStream stream(const Program& program, const Json& args = Json::object(),
                    RunOptions options = {});
  boost::asio::any_io_executor executor() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgp
