// offload(): runs slow CPU work (constraint builds, compiles) on a worker pool and resumes the
// awaiting coroutine on its own executor, so the io thread keeps serving other connections.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "interp/asio.h"

namespace sgp::server {

namespace asio = boost::asio;

template <class F>
auto offload(asio::thread_pool& pool, F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  auto ex = co_await asio::this_coro::executor;
  struct Out {
    std::optional<R> value;
    std::exception_ptr error;
  };
  Out out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Out)>(
      [&pool, ex, &f](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        asio::any_io_executor busy = asio::prefer(ex, asio::execution::outstanding_work.tracked);
        asio::post(pool, [h, busy, f = std::move(f)]() mutable {
          Out o;
          try {
            o.value.emplace(f());
          } catch (...) {
            o.error = std::current_exception();
          }
          asio::post(busy, [h, o = std::move(o)]() mutable { (*h)(std::move(o)); });
        });
      },
      asio::use_awaitable);
  if (out.error) std::rethrow_exception(out.error);
  co_return std::move(*out.value);
}

}  // namespace sgp::server
