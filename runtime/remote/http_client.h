// HttpClient: HTTP/1.1 requests to one server (Boost.Beast), run on the client's own I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "remote/endpoint.h"

namespace sgp::remote {

struct HttpOptions {
  double connect_timeout_s = 10;
  // Longest silence while waiting for a response or for more of a streamed one (a generation
  // streams its text, so this bounds the wait for the next piece, not the whole request).
  double read_timeout_s = 300;
  size_t max_body_bytes = 64u << 20;  // a larger (non-streamed) response is an error
  size_t max_idle_connections = 16;   // kept-alive connections for the next requests
  std::string api_key;                // sent as "Authorization: Bearer KEY" when set
};

struct HttpResult {
  int status = 0;     // 0: no response arrived (see error / cancelled)
  std::string body;   // the whole body, except 2xx bodies given to on_chunk
  std::string error;  // transport failure, "" when a complete response arrived
  bool cancelled = false;
};

enum class HttpMethod { Get, Post };

// Why a result is not a usable 2xx response, for an error message ("" when it is one): the
// transport failure, or the status with the server's {"error":{"message":...}} text.
// `what` names the request ("generate at http://h:p").
std::string failure_text(const HttpResult& r, const std::string& what);

// Thread-safe. Connections are reused (keep-alive); a request on a reused connection that the
// server had closed is retried once on a fresh one, before any response byte arrived.
class HttpClient {
 public:
  using Id = uint64_t;
  HttpClient(Endpoint endpoint, HttpOptions options);
  ~HttpClient();  // aborts what is in flight (each on_done still runs, cancelled)
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends a request (path is appended to the endpoint's base path; body is JSON when
  // non-empty). With on_chunk, a 2xx body is handed over piece by piece as it arrives. on_done
  // runs exactly once, on the client's thread.
  Id start(HttpMethod method, std::string path, std::string body,
           std::function<void(std::string_view)> on_chunk, std::function<void(HttpResult)> on_done);
  // Runs fn on the client's thread without sending anything, under a fresh id (for bad input that
  // must be reported through a request's own callback, never from the submitting call).
  Id defer(std::function<void()> fn);
  // Closes the request's connection (a server cancels on disconnect); on_done reports cancelled.
  void abort(Id id);
  // Blocking; never call it from an on_chunk/on_done callback.
  HttpResult call(HttpMethod method, std::string path, std::string body);

  const Endpoint& endpoint() const { return endpoint_; }
  const HttpOptions& options() const { return options_; }

 private:
  struct Impl;
  Endpoint endpoint_;
  HttpOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgp::remote
