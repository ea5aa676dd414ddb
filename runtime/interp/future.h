// Future: the value of a `spawn`, awaited where it is first used.
#pragma once

#include <exception>

#include "interp/async_event.h"
#include "interp/value.h"

namespace sgp::interp {

class Future {
 public:
  explicit Future(asio::any_io_executor ex) : done(std::move(ex)) {}
  AsyncEvent done;
  Value value;
  std::exception_ptr error;
  bool awaited = false;  // an unawaited failure fails the run when it ends
};

}  // namespace sgp::interp
