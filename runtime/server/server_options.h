// ServerOptions: everything `sgrun serve` is configured with (address, limits, auth).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sgp::server {

struct Limits {
  size_t max_body_bytes = 1 << 20;     // request body; past it: 413
  size_t max_header_bytes = 16 << 10;  // request line + headers; past it: 431
  int max_tokens = 4096;               // largest max_tokens a request may ask for
  int default_max_tokens = 256;        // when a request names none
  int max_n = 16;                      // choices per request
  int max_concurrent = 256;            // requests generating at once; past it: 429
  int max_connections = 2048;          // open connections; past it new ones are closed at once
  double request_timeout_s = 600;      // a generation running longer is cancelled (504)
  double read_timeout_s = 30;          // a request must arrive whole within this (else 408)
  double idle_timeout_s = 60;          // keep-alive connection with no request
  double drain_timeout_s = 30;         // on SIGTERM: in-flight requests get this long
  int64_t program_max_steps = 1'000'000;
};

struct JwtOptions {
  std::string hs256_secret;  // HS256 shared secret ("" = off)
  std::string rs256_pubkey;  // RS256 public key, PEM text ("" = off)
  std::string audience;      // required "aud" when set (else 403)
  std::string issuer;        // required "iss" when set (else 403)
};

struct AuthOptions {
  bool enabled = true;  // false only with --no-auth (then loopback only)
  std::vector<std::string> api_keys;
  JwtOptions jwt;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string model_name;  // what /v1/models reports
  AuthOptions auth;
  Limits limits;
  bool public_metrics = false;                  // /metrics without credentials
  bool allow_program_source = true;             // /v1/programs/run accepts "source"
  std::map<std::string, std::string> programs;  // name -> .sgp file, compiled at start-up
  bool access_log = true;
};

}  // namespace sgp::server
