// RequestContext: one HTTP request being answered — its data, cancel signal and response writer
// (a whole JSON response, or a server-sent-event stream).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "server/access_log.h"
#include "server/api_error.h"
#include "server/cancel_signal.h"
#include "server/http_message.h"
#include "server/json_fields.h"
#include "server/server_state.h"

namespace sgp::server {

// Any JSON dump of model output: invalid UTF-8 in token pieces becomes U+FFFD, never a throw.
std::string dump_json(const Json& j);

class RequestContext {
 public:
  RequestContext(ServerState& server, Request& req, boost::beast::tcp_stream& stream,
                 std::string request_id);

  ServerState& server;
  Request& req;
  const std::string request_id;
  const std::string path;
  std::string subject;  // who, once authenticated
  AccessRecord log;     // filled in as the request goes; written by the session
  std::shared_ptr<CancelSignal> cancel = std::make_shared<CancelSignal>();
  bool keep_alive = true;

  asio::awaitable<void> respond(int status, const Json& body);
  asio::awaitable<void> respond_text(int status, std::string body, const char* content_type);
  // By value: a coroutine's reference parameters would dangle once the caller's temporaries go.
  asio::awaitable<void> respond_error(int status, std::string message, std::string type,
                                      std::string code = "");
  asio::awaitable<void> respond_error(ApiError e);
  bool responded() const { return responded_; }
  // Throws the ApiError a fired cancel signal stands for (504 timeout, 503 shutdown, 499 gone).
  void check_cancelled() const;

  // Server-sent events (chunked). Each send returns false once the client is gone.
  asio::awaitable<bool> sse_begin();
  asio::awaitable<bool> sse_send(const Json& data);
  asio::awaitable<bool> sse_send_raw(std::string_view data);  // "data: <data>\n\n"
  asio::awaitable<bool> sse_done();                           // "data: [DONE]"
  asio::awaitable<void> sse_end();
  // The error body for a fired cancel signal (see check_cancelled).
  Json cancel_error() const;
  bool streaming() const { return streaming_; }

 private:
  asio::awaitable<bool> write_chunk(std::string text);
  boost::beast::tcp_stream& stream_;
  bool responded_ = false, streaming_ = false, broken_ = false;
};

}  // namespace sgp::server
