// HttpServer: the listening socket, the set of live sessions, signals and graceful drain.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <set>

#include "server/router.h"

namespace sgp::server {

class HttpSession;

class HttpServer {
 public:
  // `state` outlives the server; its io_context must be run on one thread.
  explicit HttpServer(ServerState& state);
  // Binds host:port (port 0: any free one); returns the bound port. Throws sgp::Error.
  uint16_t listen();
  // Starts accepting and handling SIGTERM/SIGINT (first: drain; second: cancel everything).
  void start();
  // Stop accepting; close idle connections; let in-flight requests finish (cancelled at the
  // drain timeout); then stop the io_context.
  void drain();

  void session_started(HttpSession* s) { sessions_.insert(s); }
  void session_ended(HttpSession* s);

 private:
  asio::awaitable<void> accept_loop();
  void finish();

  ServerState& state_;
  Router router_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::set<HttpSession*> sessions_;
  bool finished_ = false;
};

}  // namespace sgp::server
