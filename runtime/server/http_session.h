// HttpSession: one client connection — reads requests (with limits and timeouts), checks auth
// and concurrency, runs the route's handler, and logs each answer.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <string>

#include "server/router.h"

namespace sgp::server {

class HttpServer;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, ServerState& state, const Router& router,
              HttpServer& server);
  asio::awaitable<void> run();
  // Draining: a connection waiting for its next request is closed now; a busy one after its
  // response.
  void close_if_idle();

 private:
  asio::awaitable<void> handle(Request& req);
  asio::awaitable<void> reply_and_close(int status, std::string message);
  void watch_disconnect(std::shared_ptr<CancelSignal> signal, std::shared_ptr<bool> active);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  ServerState& state_;
  const Router& router_;
  HttpServer& server_;
  std::string remote_;
  bool busy_ = false;
  bool keep_alive_ = true;
};

}  // namespace sgp::server
