// GenerationGroup: engine callbacks → an ordered event queue a coroutine awaits.
#include "server/generation.h"

#include "interp/async_event.h"

namespace sgp::server {

GenerationGroup::GenerationGroup(asio::any_io_executor ex,
                                 std::shared_ptr<interp::ModelClient> client, Metrics& metrics)
    : ex_(std::move(ex)), client_(std::move(client)), metrics_(metrics) {}

void GenerationGroup::start(std::vector<engine::GenerateRequest> requests) {
  t0_ = std::chrono::steady_clock::now();
  auto self = shared_from_this();
  finished_.assign(requests.size(), false);
  started_.assign(requests.size(), false);
  open_ = requests.size();
  for (size_t i = 0; i < requests.size(); ++i) {
    engine::GenerateRequest& r = requests[i];
    int index = static_cast<int>(i);
    r.on_text = [self, index](const std::string& delta) {
      asio::post(self->ex_, [self, index, delta] { self->push({index, delta, false, {}}); });
    };
    r.on_done = [self, index](engine::GenerateResult res) {
      asio::post(self->ex_, [self, index, res = std::move(res)]() mutable {
        self->push({index, {}, true, std::move(res)});
      });
    };
    ++metrics_.gen_waiting;
    ids_.push_back(client_->generate(std::move(r)));
  }
}

void GenerationGroup::push(GenEvent ev) {
  size_t i = static_cast<size_t>(ev.index);
  if (!started_[i] && (!ev.delta.empty() || ev.done)) {
    started_[i] = true;
    --metrics_.gen_waiting;
    ++metrics_.gen_running;
    if (!ev.done)
      metrics_.first_token(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
  }
  if (ev.done) {
    finished_[i] = true;
    --open_;
    --metrics_.gen_running;
    metrics_.tokens(ev.result.prompt_tokens, ev.result.cached_tokens,
                    static_cast<int>(ev.result.tokens.size()));
  }
  events_.push_back(std::move(ev));
  if (waiter_) asio::post(ex_, std::exchange(waiter_, nullptr));
}

asio::awaitable<std::optional<GenEvent>> GenerationGroup::next() {
  while (events_.empty()) {
    if (open_ == 0) co_return std::nullopt;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          waiter_ = [h]() { (*h)(); };
        },
        asio::use_awaitable);
  }
  GenEvent ev = std::move(events_.front());
  events_.pop_front();
  co_return ev;
}

void GenerationGroup::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  for (size_t i = 0; i < ids_.size(); ++i)
    if (!finished_[i]) {
      ++metrics_.cancelled;
      client_->cancel(ids_[i]);
    }
}

asio::awaitable<std::vector<engine::GenerateResult>> collect(GenerationGroup& group) {
  std::vector<engine::GenerateResult> out(group.size());
  while (auto ev = co_await group.next())
    if (ev->done) out[static_cast<size_t>(ev->index)] = std::move(ev->result);
  co_return out;
}

asio::awaitable<engine::ScoreResult> run_score(std::shared_ptr<interp::ModelClient> client,
                                               engine::ScoreRequest request,
                                               std::shared_ptr<CancelSignal> cancel) {
  engine::RequestId id = 0;
  auto finished = std::make_shared<bool>(false);
  engine::ScoreResult r = co_await interp::await_callback<engine::ScoreResult>([&](auto cb) {
    request.on_done = cb;
    id = client->score(std::move(request));
    cancel->on_fire([client, id, finished] {
      if (!*finished) client->cancel(id);
    });
  });
  *finished = true;
  co_return r;
}

}  // namespace sgp::server
