// Authenticator: checks a request's Authorization header against API keys and JWT settings.
#pragma once

#include <string>
#include <string_view>

#include "server/server_options.h"

namespace sgp::server {

struct AuthResult {
  int status = 200;     // 200 ok, 401 no/invalid credentials, 403 valid but not allowed
  std::string message;  // why not, for the error body
  std::string subject;  // who: "key:<first 4 chars>..." or the JWT "sub"
};

class Authenticator {
 public:
  // Throws sgp::Error for an unusable configuration (auth on but nothing to check against).
  explicit Authenticator(AuthOptions options);
  AuthResult check(std::string_view authorization_header) const;
  bool enabled() const { return options_.enabled; }

 private:
  AuthResult check_jwt(const std::string& token) const;
  AuthOptions options_;
};

// Reads API keys: one per line, '#' comments and blank lines skipped. Throws sgp::Error.
std::vector<std::string> read_key_file(const std::string& path);

}  // namespace sgp::server
