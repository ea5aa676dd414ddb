// RoutingModelClient: one ModelClient over several backends (local and/or remote) serving the
// same model; each request goes where CacheAwareRouter sends it, and around backends that fail.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "interp/model_client.h"
#include "remote/cache_aware_router.h"
#include "remote/failover_backend.h"

namespace sgp::remote {

// Failover (backends that are FailoverBackends, i.e. remote ones): a request whose backend fails
// (unreachable, connection dropped, draining) goes to another backend, and the failed one is
// marked down: no request goes there until a health probe on a background thread finds it up
// again (first after RoutingOptions::retry_initial_s, doubling to retry_max_s). A generation
// that had already streamed text restarts from its prompt elsewhere; the text already handed to
// on_text is not repeated, and if the restart produces different text (sampling without a seed)
// the request fails with an error saying so. Each backend is tried at most once per request;
// when every one has failed it, the request fails naming each failure.
class RoutingModelClient : public interp::ModelClient {
 public:
  // Throws sgp::Error when the backends tokenize differently (token ids must mean the same
  // everywhere, since a program's state moves between them as token ids), or when no backend is
  // ready. Backends not ready() (down at start-up) are checked when they first come up.
  RoutingModelClient(std::vector<std::shared_ptr<interp::ModelClient>> backends,
                     RoutingOptions options = {});
  ~RoutingModelClient() override;

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  void cancel(engine::RequestId id) override;
  // Tokenizer questions go to a local backend when there is one (no round trip), else the first
  // ready one; when that fails, to the next backend that is up.
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override { return facts_->bos_id(); }
  bool add_bos() const override { return facts_->add_bos(); }
  std::string chat_template() const override { return facts_->chat_template(); }
  std::string name() const override;
  std::shared_ptr<const model::Tokenizer> tokenizer() const override;
  engine::EngineStats stats() const override;  // local backends' counters, summed

  // Requests sent to each backend so far, retries included (for tests and traces).
  std::vector<uint64_t> routed() const;
  // Whether each backend is currently taken as up.
  std::vector<bool> healthy() const;
  // Where warnings go (a backend failed, came back, was refused); default: stderr.
  void set_log(std::function<void(const std::string&)> log);
  const std::vector<std::shared_ptr<interp::ModelClient>>& backends() const { return backends_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Health {
    FailoverBackend* failover = nullptr;  // null: never marked down (the local engine)
    bool up = true;
    bool refused = false;  // came up serving another model: never used
    int failures = 0;      // consecutive
    Clock::time_point retry_at{};
  };
  struct GenCall;
  struct ScoreCall;
  struct Live {
    size_t backend = 0;
    uint64_t attempt = 0;  // which try the fields below describe
    engine::RequestId inner = 0;
    bool submitted = false;  // inner is known (the backend's submit returned)
    bool counted = false;    // counted in flight by the router on `backend`
    bool cancelled = false;
  };

  // Picks a backend not yet tried by this request (an up one when there is any), records the
  // attempt (its number in `attempt`); SIZE_MAX when none is left.
  size_t begin_attempt(engine::RequestId id, const std::vector<int32_t>& prompt,
                       std::vector<char>& tried, uint64_t& attempt, bool& cancelled);
  void submitted(engine::RequestId id, uint64_t attempt, engine::RequestId inner);
  void ended(engine::RequestId id, const std::vector<int32_t>& tokens);
  // Attempt `attempt` of request `id` failed on its backend: count it out there and mark the
  // backend down (unless it was only overloaded).
  void attempt_failed(engine::RequestId id, size_t backend, const BackendFailure& f);
  void mark_down_locked(size_t backend, const std::string& reason) const;
  // fn(backend) for the tokenizer questions: the facts backend, else any other that is up.
  template <class R>
  R ask_any(const std::function<R(interp::ModelClient&)>& fn) const;
  // Registers a request and makes its first attempt.
  template <class Call, class Req>
  engine::RequestId start(Req request);
  // The next attempt of a request (or its end, when no backend is left or it was cancelled).
  void try_call(std::shared_ptr<GenCall> call);
  void try_call(std::shared_ptr<ScoreCall> call);
  // Sends one attempt to backend b; a failure of the backend itself leads to the next attempt.
  template <class Req, class Call>
  void submit(size_t b, uint64_t attempt, Req req, std::shared_ptr<Call> call);
  void check_model(size_t backend) const;  // throws sgp::Error when it tokenizes differently
  void prober();
  void log(const std::string& line) const;

  std::vector<std::shared_ptr<interp::ModelClient>> backends_;
  interp::ModelClient* facts_ = nullptr;
  size_t facts_index_ = 0;
  RoutingOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable wake_;  // the prober: a backend went down, or closing
  bool closing_ = false;
  CacheAwareRouter router_;
  mutable std::vector<Health> health_;
  std::unordered_map<engine::RequestId, Live> live_;
  std::vector<uint64_t> routed_;
  engine::RequestId next_id_ = 1;
  std::function<void(const std::string&)> log_;
  std::thread prober_;  // last: started once everything above exists
};

}  // namespace sgp::remote
