// EventQueue: JSON events produced by one coroutine (or posted callbacks) and awaited by another.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "interp/asio.h"
#include "server/json_fields.h"

namespace sgp::server {

namespace asio = boost::asio;

// Used on one executor's thread only.
class EventQueue {
 public:
  explicit EventQueue(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void push(Json ev) {
    items_.push_back(std::move(ev));
    wake();
  }
  void close() {
    closed_ = true;
    wake();
  }
  // The next event; nullopt once closed and empty.
  asio::awaitable<std::optional<Json>> next() {
    while (items_.empty()) {
      if (closed_) co_return std::nullopt;
      co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
          [this](auto handler) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            waiter_ = [h]() { (*h)(); };
          },
          asio::use_awaitable);
    }
    Json ev = std::move(items_.front());
    items_.pop_front();
    co_return ev;
  }

 private:
  void wake() {
    if (waiter_) asio::post(ex_, std::exchange(waiter_, nullptr));
  }
  asio::any_io_executor ex_;
  std::deque<Json> items_;
  bool closed_ = false;
  std::function<void()> waiter_;
};

}  // namespace sgp::server
