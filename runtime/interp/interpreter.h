// Interpreter: runs an execution graph (compiler/graph.h) as coroutines on one Asio executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/graph.h"
#include "interp/async_event.h"
#include "interp/host_function.h"
#include "interp/model_client.h"
#include "interp/prompt_state.h"
#include "interp/request_trace.h"
#include "interp/value.h"

namespace sgp::constraint {
class Vocabulary;
}

namespace sgp::interp {

// Cancels one run: stops at the next node and cancels its in-flight model requests.
// Thread-safe (Ctrl-C handlers and host threads call cancel()).
class CancelToken {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  // The model client the run submits to (set by the interpreter before any request).
  void attach(std::shared_ptr<ModelClient> client);
  void track(engine::RequestId id);
  void untrack(engine::RequestId id);

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::shared_ptr<ModelClient> client_;
  std::set<engine::RequestId> live_;
};

struct RunOptions {
  int64_t max_steps = 1'000'000;  // nodes executed per run (all branches together)
  int max_call_depth = 200;
  bool greedy = false;           // force temperature 0 for every gen (deterministic tests)
  std::optional<uint64_t> seed;  // default seed for gens that set none
  // Generated text as it is produced (called on the interpreter's thread).
  std::function<void(const std::string&)> on_text;
  // The same pieces with the name the gen binds (`gen NAME(...)`); both may be set.
  std::function<void(const std::string& gen, const std::string& text)> on_gen_text;
  std::function<void(const std::string&)> on_print;  // print(); null: stdout
  std::shared_ptr<RequestTrace> trace;
  std::shared_ptr<CancelToken> cancel;
  std::string label;  // names the run in traces (e.g. the batch line)
};

// A program plus everything a run of it needs. One Interpreter serves many concurrent runs;
// all of them must be driven by one single-threaded executor.
class Interpreter {
 public:
  Interpreter(asio::any_io_executor ex, std::shared_ptr<ModelClient> client,
              std::shared_ptr<const graph::Program> program, HostFunctions hosts = {});
  ~Interpreter();

  const graph::Program& program() const { return *program_; }
  ModelClient& client() { return *client_; }

  // Calls `main` with named arguments (missing ones take their defaults). Throws RuntimeError.
  asio::awaitable<Value> run_main(Map args, RunOptions options);
  // Calls the function `index` with positional arguments on `state` (the REPL's session state),
  // with `globals` as the session variables.
  asio::awaitable<Value> run_function(int32_t index, List args, PromptState& state,
                                      std::vector<Value>* globals, RunOptions options);

  // A fresh state (BOS when the model wants one).
  PromptState fresh_state() const;
  // Appends text to a state outside a program (REPL, embedding).
  void append_text(PromptState& state, const std::string& text, bool parse_special) const;
  // Prefills a state into the engine's cache (REPL: the session KV persists between lines).
  asio::awaitable<void> prefill(PromptState& state, RunOptions options);

  void bind_host(const std::string& name, HostFunction fn) { hosts_[name] = std::move(fn); }

  struct Run;  // one program instance's shared context (steps, cancel, options)
  struct Frame;

 private:
  friend struct Exec;
  asio::any_io_executor ex_;
  std::shared_ptr<ModelClient> client_;
  std::shared_ptr<const graph::Program> program_;
  HostFunctions hosts_;
  std::vector<std::optional<Value>> consts_;
  std::shared_ptr<const constraint::Vocabulary> vocab_;  // built on first constrained gen
  std::string model_template_;  // name of the built-in template matching the model

 public:
  // Internals shared with the node executor (interpreter.cpp).
  const graph::Template& template_for(const PromptState& state) const;
  const Value& const_value(int32_t slot);
  std::shared_ptr<const constraint::Vocabulary> vocabulary();
  const HostFunction* host(const std::string& name) const;
  asio::any_io_executor executor() const { return ex_; }
};

}  // namespace sgp::interp
