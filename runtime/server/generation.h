// GenerationGroup: the n engine requests of one HTTP request, awaited as a stream of events.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interp/asio.h"
#include "interp/model_client.h"
#include "server/cancel_signal.h"
#include "server/metrics.h"

namespace sgp::server {

namespace asio = boost::asio;

struct GenEvent {
  int index = 0;      // which of the group's requests
  std::string delta;  // new text (when !done)
  bool done = false;  // the request ended: `result` holds it
  engine::GenerateResult result;
};

// Lives on the server's io thread; engine callbacks are posted to it. Keeps itself alive
// (shared_ptr) until every engine request has reported back, even if the HTTP side is gone.
class GenerationGroup : public std::enable_shared_from_this<GenerationGroup> {
 public:
  GenerationGroup(asio::any_io_executor ex, std::shared_ptr<interp::ModelClient> client,
                  Metrics& metrics);
  // Submits each request (their on_text/on_done are replaced).
  void start(std::vector<engine::GenerateRequest> requests);
  // The next event in arrival order; nullopt once every request is done and drained.
  asio::awaitable<std::optional<GenEvent>> next();
  // Cancels every unfinished request (each still ends with a done event, finish Cancelled).
  void cancel();
  bool cancelled() const { return cancelled_; }
  size_t size() const { return ids_.size(); }

 private:
  void push(GenEvent ev);

  asio::any_io_executor ex_;
  std::shared_ptr<interp::ModelClient> client_;
  Metrics& metrics_;
  std::vector<engine::RequestId> ids_;
  std::vector<bool> finished_, started_;
  size_t open_ = 0;  // requests not yet done
  bool cancelled_ = false;
  std::deque<GenEvent> events_;
  std::function<void()> waiter_;
  std::chrono::steady_clock::time_point t0_;
};

// Runs one score request to its end (on the io thread's executor); cancelled when `cancel` fires.
asio::awaitable<engine::ScoreResult> run_score(std::shared_ptr<interp::ModelClient> client,
                                               engine::ScoreRequest request,
                                               std::shared_ptr<CancelSignal> cancel);

// Waits for every request of the group; the results in request order.
asio::awaitable<std::vector<engine::GenerateResult>> collect(GenerationGroup& group);

}  // namespace sgp::server
