// CancelSignal: why a request's work must stop (client gone, timeout, shutdown), fired once.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace sgp::server {

// Used on the server's io thread only.
class CancelSignal {
 public:
  enum class Why { None, Disconnect, Timeout, Shutdown };

  Why why() const { return why_; }
  bool fired() const { return why_ != Why::None; }
  void fire(Why why) {
    if (fired()) return;
    why_ = why;
    auto hooks = std::move(hooks_);
    for (auto& h : hooks) h();
  }
  // Runs `hook` when the signal fires (at once if it already has).
  void on_fire(std::function<void()> hook) {
    if (fired())
      hook();
    else
      hooks_.push_back(std::move(hook));
  }

 private:
  Why why_ = Why::None;
  std::vector<std::function<void()>> hooks_;
};

}  // namespace sgp::server
