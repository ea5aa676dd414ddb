// Awaitable building blocks on one io_context: a one-shot event and callback-to-awaitable adapters.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "interp/asio.h"

namespace sgp::interp {

namespace asio = boost::asio;

// A one-shot event that any number of coroutines await (fork joins, spawn futures). Boost 1.74
// has no experimental::channel or parallel_group, so this is the join primitive. Used from the
// interpreter's executor only (one thread), hence no lock.
class AsyncEvent {
 public:
  explicit AsyncEvent(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  bool is_set() const { return set_; }

  void set() {
    if (set_) return;
    set_ = true;
    auto waiters = std::move(waiters_);
    for (auto& w : waiters) asio::post(ex_, std::move(w));
  }

  asio::awaitable<void> wait() {
    if (set_) co_return;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          waiters_.push_back([h]() { (*h)(); });
        },
        asio::use_awaitable);
  }

 private:
  asio::any_io_executor ex_;
  bool set_ = false;
  std::vector<std::function<void()>> waiters_;
};

// Counts down once per finished task; waiters resume when it reaches zero.
class JoinCounter {
 public:
  JoinCounter(asio::any_io_executor ex, size_t n) : event_(std::move(ex)), left_(n) {
    if (n == 0) event_.set();
  }
  void done() {
    if (left_ > 0 && --left_ == 0) event_.set();
  }
  asio::awaitable<void> wait() { return event_.wait(); }

 private:
  AsyncEvent event_;
  size_t left_;
};

// Adapts a callback API to an awaitable: `start(cb)` must arrange for cb(R) to be called exactly
// once, on any thread; the result is posted back to the awaiting coroutine's executor, which
// counts as busy meanwhile (so io_context::run keeps going while the model works).
template <class R, class Start>
asio::awaitable<R> await_callback(Start start) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [ex, &start](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        asio::any_io_executor busy = asio::prefer(ex, asio::execution::outstanding_work.tracked);
        // The callback drops its hold on the executor once used, even if the caller keeps it.
        start([h, busy](R r) mutable {
          asio::any_io_executor ex2 = std::move(busy);
          asio::post(ex2, [h, ex2, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace sgp::interp
