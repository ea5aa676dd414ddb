// HttpSession: the per-connection request loop.
#include "server/http_session.h"

#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>

#include "server/http_server.h"
#include "sgp/error.h"

namespace sgp::server {

namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

namespace {

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

HttpSession::HttpSession(tcp::socket socket, ServerState& state, const Router& router,
                         HttpServer& server)
    : stream_(std::move(socket)), state_(state), router_(router), server_(server) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

void HttpSession::close_if_idle() {
  keep_alive_ = false;
  if (busy_) return;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

asio::awaitable<void> HttpSession::reply_and_close(int status, std::string message) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "sgrun");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = error_body(message, "invalid_request_error", "").dump() + "\n";
  res.prepare_payload();
  stream_.expires_after(std::chrono::seconds(5));
  beast::error_code ec;
  co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
  AccessRecord r;
  r.status = status;
  r.remote = remote_;
  r.error = message;
  r.method = "-";
  r.path = "-";
  if (state_.options.access_log) write_access_log(r);
}

asio::awaitable<void> HttpSession::run() {
  auto self = shared_from_this();
  server_.session_started(this);
  ++state_.metrics.connections;
  const Limits& lim = state_.options.limits;
  bool first = true;
  while (keep_alive_ && !state_.draining) {
    Parser parser;
    apply_limits(parser, lim);
    beast::error_code ec;
    stream_.expires_after(seconds(first ? lim.read_timeout_s : lim.idle_timeout_s));
    co_await http::async_read_header(stream_, buffer_, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
          ec == asio::error::eof || ec == asio::error::bad_descriptor)
        break;
      std::string message = "bad request: " + ec.message();
      co_await reply_and_close(status_for_parse_error(ec), std::move(message));
      break;
    }
    busy_ = true;
    first = false;
    auto expect = parser.get().find(http::field::expect);
    if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      stream_.expires_after(seconds(lim.read_timeout_s));
      co_await http::async_write(stream_, cont, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (!parser.is_done()) {
      stream_.expires_after(seconds(lim.read_timeout_s));
      co_await http::async_read(stream_, buffer_, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        int status = ec == beast::error::timeout ? 408 : status_for_parse_error(ec);
        // Named first: GCC mis-destroys ?: temporaries inside co_await arguments.
        std::string message = "the request did not arrive in time";
        if (ec != beast::error::timeout) message = "bad request: " + ec.message();
        bool answer = ec != http::error::end_of_stream && ec != asio::error::connection_reset &&
                      ec != asio::error::operation_aborted;
        if (answer) co_await reply_and_close(status, std::move(message));
        break;
      }
    }
    stream_.expires_never();
    Request req = parser.release();
    co_await handle(req);
    busy_ = false;
  }
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  --state_.metrics.connections;
  server_.session_ended(this);
}

void HttpSession::watch_disconnect(std::shared_ptr<CancelSignal> signal,
                                   std::shared_ptr<bool> active) {
  auto self = shared_from_this();
  stream_.socket().async_wait(tcp::socket::wait_read, [self, signal, active](beast::error_code ec) {
    if (ec || !*active) return;
    char c;
    ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      signal->fire(CancelSignal::Why::Disconnect);
    else if (n < 0)
      self->watch_disconnect(signal, active);
    // n > 0: the client already sent its next request (pipelining); stop watching.
  });
}

asio::awaitable<void> HttpSession::handle(Request& req) {
  auto t0 = std::chrono::steady_clock::now();
  RequestContext ctx(state_, req, stream_, request_id_for(req));
  ctx.log.remote = remote_;
  ctx.keep_alive = req.keep_alive() && keep_alive_ && !state_.draining;
  ++state_.metrics.in_flight;
  bool path_known = false;
  const Route* route = router_.find(req.method(), ctx.path, path_known);
  std::optional<ApiError> error;
  bool holds_slot = false;
  auto watching = std::make_shared<bool>(false);
  std::optional<asio::steady_timer> timer;
  try {
    if (!route) {
      if (path_known) throw ApiError(405, "method not allowed", "invalid_request_error");
      throw ApiError(404, "no such endpoint: " + ctx.path, "invalid_request_error", "not_found");
    }
    if (!route->open) {
      auto h = req.find(http::field::authorization);
      std::string_view header = h == req.end()
                                    ? std::string_view()
                                    : std::string_view(h->value().data(), h->value().size());
      AuthResult a = state_.auth.check(header);
      if (a.status != 200)
        throw ApiError(a.status, a.message,
                       a.status == 401 ? "authentication_error" : "permission_error",
                       a.status == 401 ? "invalid_api_key" : "forbidden");
      ctx.subject = a.subject;
      ctx.log.subject = a.subject;
    }
    if (route->generation) {
      if (state_.draining) throw ApiError(503, "the server is shutting down", "server_error");
      if (state_.generating >= state_.options.limits.max_concurrent) {
        ++state_.metrics.rejected_busy;
        throw ApiError(429, "too many concurrent requests; retry shortly", "rate_limit_error",
                       "too_many_requests");
      }
      ++state_.generating;
      holds_slot = true;
      state_.active.insert(ctx.cancel);
      timer.emplace(stream_.get_executor());
      timer->expires_after(seconds(state_.options.limits.request_timeout_s));
      timer->async_wait([signal = ctx.cancel](beast::error_code ec) {
        if (!ec) signal->fire(CancelSignal::Why::Timeout);
      });
      *watching = true;
      watch_disconnect(ctx.cancel, watching);
    }
  } catch (const ApiError& e) {
    error = e;
  }
  if (!error) {
    try {
      co_await route->handler(ctx);
    } catch (const ApiError& e) {
      error = e;
    } catch (const sgp::Error& e) {
      error = ApiError(400, e.what(), "invalid_request_error");
    } catch (const std::exception& e) {
      error = ApiError(500, std::string("internal error: ") + e.what(), "server_error");
    }
  }
  if (timer) timer->cancel();
  if (*watching) {
    *watching = false;
    beast::error_code ec;
    stream_.socket().cancel(ec);
  }
  if (holds_slot) {
    --state_.generating;
    state_.active.erase(ctx.cancel);
  }
  if (error && ctx.cancel->why() != CancelSignal::Why::Disconnect)
    co_await ctx.respond_error(*error);
  if (!ctx.responded()) {  // the client left before an answer
    ctx.keep_alive = false;
    ctx.log.status = 499;
    if (ctx.log.error.empty()) ctx.log.error = "client closed the connection";
  } else if (error && ctx.log.error.empty()) {
    ctx.log.error = error->what();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.log.seconds = secs;
  state_.metrics.request_done(route ? route->path : "other", ctx.log.status, secs);
  --state_.metrics.in_flight;
  if (state_.options.access_log) write_access_log(ctx.log);
  keep_alive_ = keep_alive_ && ctx.keep_alive && !state_.draining;
}

}  // namespace sgp::server
