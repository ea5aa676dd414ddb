// sgp::Error: the one error type the runtime, engine and loaders throw for bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace sgp {

// Thrown for anything a user can cause (bad model file, bad request, failed program).
// Front doors (CLI, server, embedding API) catch it and report `what()`; it never aborts.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sgp
