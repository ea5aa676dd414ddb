// HostFunction: a callable the host binds to an `extern fn` (sync or async, in-process or a
// command).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "interp/value.h"

namespace sgp::interp {

struct HostResult {
  Value value;
  std::string error;  // non-empty: the call failed (a runtime error in the program)
};

using HostDone = std::function<void(HostResult)>;
// Called on the interpreter's thread; `done` may be called later, from any thread, exactly once.
// A function that blocks should hand its work to another thread and call `done` from there.
using HostFunction = std::function<void(List args, HostDone done)>;

using HostFunctions = std::map<std::string, HostFunction>;

// Wraps a synchronous callable; an exception it throws becomes the call's error.
HostFunction make_sync_host_function(std::function<Value(const List&)> fn);

}  // namespace sgp::interp
