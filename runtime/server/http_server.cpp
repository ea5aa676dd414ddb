// HttpServer: accept loop, signal handling and drain.
#include "server/http_server.h"

#include <boost/asio/redirect_error.hpp>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "server/http_session.h"
#include "server/native_api.h"
#include "server/openai_api.h"
#include "server/programs_api.h"
#include "sgp/error.h"

namespace sgp::server {

using tcp = boost::asio::ip::tcp;

namespace {

void log_event(const nlohmann::ordered_json& j) {
  std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

HttpServer::HttpServer(ServerState& state)
    : state_(state),
      acceptor_(state.io),
      signals_(state.io, SIGTERM, SIGINT),
      drain_timer_(state.io) {
  add_openai_routes(router_);
  add_native_routes(router_, state.options.public_metrics);
  add_program_routes(router_);
}

uint16_t HttpServer::listen() {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(state_.options.host, ec);
  if (ec) throw Error("--host '" + state_.options.host + "' is not an IP address");
  if (!state_.options.auth.enabled && !addr.is_loopback())
    throw Error("--no-auth serves only on a loopback address (127.0.0.1 or ::1), not " +
                state_.options.host);
  tcp::endpoint ep(addr, state_.options.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(tcp::socket::max_listen_connections, ec);
  if (ec)
    throw Error("cannot listen on " + state_.options.host + ":" +
                std::to_string(state_.options.port) + ": " + ec.message());
  return acceptor_.local_endpoint().port();
}

void HttpServer::start() {
  work_.emplace(state_.io.get_executor());
  log_event({{"level", "info"},
             {"msg", "listening"},
             {"host", state_.options.host},
             {"port", acceptor_.local_endpoint().port()},
             {"model", state_.model_id},
             {"auth", state_.options.auth.enabled}});
  asio::co_spawn(state_.io, accept_loop(), asio::detached);
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log_event({{"level", "info"}, {"msg", "signal"}, {"signal", sig}});
    drain();
    // A second signal: stop waiting for in-flight work.
    signals_.async_wait([this](const boost::system::error_code& ec2, int) {
      if (ec2) return;
      for (const auto& s : state_.active) s->fire(CancelSignal::Why::Shutdown);
    });
  });
}

asio::awaitable<void> HttpServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open() || state_.draining) co_return;
      // Out of descriptors and the like: back off briefly rather than spin.
      asio::steady_timer t(state_.io, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state_.metrics.connections >= state_.options.limits.max_connections) {
      sock.close(ec);
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<HttpSession>(std::move(sock), state_, router_, *this);
    asio::co_spawn(state_.io, session->run(), [session](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& err) {
        log_event({{"level", "error"}, {"msg", "session failed"}, {"error", err.what()}});
      }
    });
  }
}

void HttpServer::drain() {
  if (state_.draining) return;
  state_.draining = true;
  log_event({{"level", "info"},
             {"msg", "draining"},
             {"in_flight", state_.metrics.in_flight},
             {"connections", state_.metrics.connections}});
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::vector<HttpSession*> idle(sessions_.begin(), sessions_.end());
  for (HttpSession* s : idle) s->close_if_idle();
  drain_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(state_.options.limits.drain_timeout_s)));
  drain_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    log_event({{"level", "warn"}, {"msg", "drain timeout: cancelling in-flight requests"}});
    for (const auto& s : state_.active) s->fire(CancelSignal::Why::Shutdown);
  });
  if (sessions_.empty()) finish();
}

void HttpServer::session_ended(HttpSession* s) {
  sessions_.erase(s);
  if (state_.draining && sessions_.empty()) finish();
}

void HttpServer::finish() {
  if (finished_) return;
  finished_ = true;
  log_event({{"level", "info"}, {"msg", "stopped"}});
  drain_timer_.cancel();
  signals_.cancel();
  work_.reset();
  state_.io.stop();
}

}  // namespace sgp::server
