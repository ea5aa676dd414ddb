// Synchronous host functions behind the asynchronous HostFunction shape.
#include "interp/host_function.h"

#include <exception>

namespace sgp::interp {

HostFunction make_sync_host_function(std::function<Value(const List&)> fn) {
  return [fn = std::move(fn)](List args, HostDone done) {
    HostResult r;
    try {
      r.value = fn(args);
    } catch (const std::exception& e) {
      r.error = e.what();
    } catch (...) {
      r.error = "unknown exception";
    }
    done(std::move(r));
  };
}

}  // namespace sgp::interp
