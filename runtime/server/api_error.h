// ApiError: a request the server refuses, with its HTTP status and OpenAI-style error body.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sgp::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error",
           std::string code = "")
      : std::runtime_error(message),
        status_(status),
        type_(std::move(type)),
        code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string type_;
  std::string code_;
};

// {"error":{"message":..., "type":..., "code":...|null}} — the body of every error response.
inline nlohmann::ordered_json error_body(const std::string& message, const std::string& type,
                                         const std::string& code) {
  nlohmann::ordered_json e = {{"message", message}, {"type", type}, {"code", nullptr}};
  if (!code.empty()) e["code"] = code;
  return {{"error", e}};
}

inline nlohmann::ordered_json error_body(const ApiError& e) {
  return error_body(e.what(), e.type(), e.code());
}

// 400 with a parameter name in `code`, the common case of a bad field.
inline ApiError bad_param(const std::string& param, const std::string& message) {
  return ApiError(400, message, "invalid_request_error", param);
}

}  // namespace sgp::server
