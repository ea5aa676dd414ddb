// Writing responses: whole JSON bodies and chunked server-sent-event streams.
#include "server/request_context.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace sgp::server {

namespace beast = boost::beast;

namespace {

constexpr std::chrono::seconds kWriteTimeout{30};

template <class Message>
void common_headers(Message& m, const RequestContext& ctx) {
  m.set(http::field::server, "sgrun");
  m.set("X-Request-Id", ctx.request_id);
  m.keep_alive(ctx.keep_alive);
}

}  // namespace

std::string dump_json(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

RequestContext::RequestContext(ServerState& s, Request& r, beast::tcp_stream& stream,
                               std::string id)
    : server(s), req(r), request_id(std::move(id)), path(request_path(r)), stream_(stream) {
  log.request_id = request_id;
  log.method = std::string(req.method_string());
  log.path = path;
  log.bytes_in = req.body().size();
}

void RequestContext::check_cancelled() const {
  switch (cancel->why()) {
    case CancelSignal::Why::None:
      return;
    case CancelSignal::Why::Timeout:
      throw ApiError(504, "the request ran past the server's time limit", "timeout_error");
    case CancelSignal::Why::Shutdown:
      throw ApiError(503, "the server is shutting down", "server_error");
    case CancelSignal::Why::Disconnect:
      throw ApiError(499, "the client closed the connection", "client_closed");
  }
}

asio::awaitable<void> RequestContext::respond_text(int status, std::string body,
                                                   const char* content_type) {
  if (responded_) co_return;
  responded_ = true;
  http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
  common_headers(res, *this);
  res.set(http::field::content_type, content_type);
  if (status == 401) res.set(http::field::www_authenticate, "Bearer");
  if (status == 429 || status == 503) res.set(http::field::retry_after, "1");
  res.body() = std::move(body);
  res.prepare_payload();
  log.status = status;
  log.bytes_out = res.body().size();
  stream_.expires_after(kWriteTimeout);
  beast::error_code ec;
  co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    broken_ = true;
    keep_alive = false;
  }
}

asio::awaitable<void> RequestContext::respond(int status, const Json& body) {
  const char* type = "application/json";
  co_await respond_text(status, dump_json(body) + "\n", type);
}

asio::awaitable<void> RequestContext::respond_error(ApiError e) {
  co_await respond_error(e.status(), e.what(), e.type(), e.code());
}

asio::awaitable<void> RequestContext::respond_error(int status, std::string message,
                                                    std::string type, std::string code) {
  log.error = message;
  if (streaming_) {
    // Headers are gone already: the error travels as an event, then the stream ends.
    co_await sse_send(error_body(message, type, code));
    co_await sse_end();
    co_return;
  }
  co_await respond(status, error_body(message, type, code));
}

asio::awaitable<bool> RequestContext::sse_begin() {
  if (responded_) co_return false;
  responded_ = streaming_ = true;
  log.status = 200;
  log.stream = true;
  http::response<http::empty_body> res{http::status::ok, req.version()};
  common_headers(res, *this);
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  stream_.expires_after(kWriteTimeout);
  beast::error_code ec;
  size_t n =
      co_await http::async_write_header(stream_, sr, asio::redirect_error(asio::use_awaitable, ec));
  log.bytes_out += n;
  if (ec) broken_ = true;
  co_return !broken_;
}

asio::awaitable<bool> RequestContext::write_chunk(std::string text) {
  if (broken_) co_return false;
  stream_.expires_after(kWriteTimeout);
  beast::error_code ec;
  size_t n = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(text)),
                                        asio::redirect_error(asio::use_awaitable, ec));
  log.bytes_out += n;
  if (ec) {
    broken_ = true;
    keep_alive = false;
    cancel->fire(CancelSignal::Why::Disconnect);
  }
  co_return !broken_;
}

asio::awaitable<bool> RequestContext::sse_send_raw(std::string_view data) {
  co_return co_await write_chunk("data: " + std::string(data) + "\n\n");
}

asio::awaitable<bool> RequestContext::sse_send(const Json& data) {
  co_return co_await sse_send_raw(dump_json(data));
}

asio::awaitable<bool> RequestContext::sse_done() {
  std::string done = "data: [DONE]\n\n";
  co_return co_await write_chunk(std::move(done));
}

Json RequestContext::cancel_error() const {
  try {
    check_cancelled();
  } catch (const ApiError& e) {
    return error_body(e);
  }
  return error_body("cancelled", "server_error", "");
}

asio::awaitable<void> RequestContext::sse_end() {
  if (!streaming_ || broken_) co_return;
  stream_.expires_after(kWriteTimeout);
  beast::error_code ec;
  size_t n = co_await asio::async_write(stream_, http::make_chunk_last(),
                                        asio::redirect_error(asio::use_awaitable, ec));
  log.bytes_out += n;
  if (ec) keep_alive = false;
  broken_ = true;  // nothing more may follow
}

}  // namespace sgp::server
