// HttpClient: connections, one request/response exchange per coroutine, and the I/O thread.
#include "remote/http_client.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <limits>
#include <thread>
#include <unordered_map>
#include <utility>

// clang-format off
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include "remote/json_wire.h"
#include "sgp/error.h"

namespace sgp::remote {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Op {
  HttpClient::Id id = 0;
  HttpMethod method = HttpMethod::Get;
  std::string path, body;
  std::function<void(std::string_view)> on_chunk;
  std::function<void(HttpResult)> on_done;
  std::unique_ptr<beast::tcp_stream> stream;
  bool aborted = false;
};

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

bool dead_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

}  // namespace

struct HttpClient::Impl {
  HttpClient& owner;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::atomic<Id> next_id{1};
  // Everything below is touched on the I/O thread only.
  std::unordered_map<Id, std::shared_ptr<Op>> ops;
  std::deque<std::unique_ptr<beast::tcp_stream>> idle;
  tcp::resolver::results_type resolved;
  bool closing = false;
  std::thread thread;  // last: starts after the rest exists

  explicit Impl(HttpClient& o) : owner(o), thread([this] { io.run(); }) {}

  std::string timeout_text(const char* what) const {
    return "timed out after " + fmt_seconds(owner.options_.read_timeout_s) + " " + what;
  }

  asio::awaitable<std::string> connect(Op& op) {
    beast::error_code ec;
    const Endpoint& ep = owner.endpoint_;
    if (resolved.empty()) {
      tcp::resolver resolver(io);
      resolved = co_await resolver.async_resolve(ep.host, ep.port,
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return "cannot resolve '" + ep.host + "': " + ec.message();
    }
    op.stream = std::make_unique<beast::tcp_stream>(io);
    op.stream->expires_after(seconds(owner.options_.connect_timeout_s));
    co_await op.stream->async_connect(resolved, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      resolved = {};
      if (ec == beast::error::timeout)
        co_return "no connection within " + fmt_seconds(owner.options_.connect_timeout_s);
      co_return ec.message();
    }
    op.stream->socket().set_option(tcp::no_delay(true), ec);
    co_return "";
  }

  // One attempt; true: retry on a fresh connection (a reused one was dead before any reply).
  asio::awaitable<bool> exchange(Op& op, bool reused, HttpResult& res) {
    const HttpOptions& o = owner.options_;
    const Endpoint& ep = owner.endpoint_;
    beast::error_code ec;
    beast::tcp_stream& s = *op.stream;
    http::request<http::string_body> req{
        op.method == HttpMethod::Get ? http::verb::get : http::verb::post, ep.base_path + op.path,
        11};
    req.set(http::field::host, ep.host + ":" + ep.port);
    req.set(http::field::user_agent, "sgrun-remote");
    req.set(http::field::accept, op.on_chunk ? "text/event-stream" : "application/json");
    if (!o.api_key.empty()) req.set(http::field::authorization, "Bearer " + o.api_key);
    if (op.method == HttpMethod::Post) {
      req.set(http::field::content_type, "application/json");
      req.body() = op.body;
    }
    req.prepare_payload();
    s.expires_after(seconds(o.read_timeout_s));
    co_await http::async_write(s, req, asio::redirect_error(asio::use_awaitable, ec));
    if (op.aborted) {
      res.cancelled = true;
      co_return false;
    }
    if (ec) {
      if (reused && dead_connection(ec)) co_return true;
      res.error = ec == beast::error::timeout ? timeout_text("sending the request")
                                              : "sending the request failed: " + ec.message();
      co_return false;
    }
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> p;
    p.header_limit(64 * 1024);
    p.body_limit(std::numeric_limits<std::uint64_t>::max());  // counted below
    s.expires_after(seconds(o.read_timeout_s));
    co_await http::async_read_header(s, buf, p, asio::redirect_error(asio::use_awaitable, ec));
    if (op.aborted) {
      res.cancelled = true;
      co_return false;
    }
    if (ec) {
      if (reused && dead_connection(ec) && buf.size() == 0) co_return true;
      res.error = ec == beast::error::timeout ? timeout_text("waiting for the response")
                  : dead_connection(ec) ? "the server closed the connection without a response"
                                        : "bad response: " + ec.message();
      co_return false;
    }
    res.status = p.get().result_int();
    const bool streamed = op.on_chunk && res.status / 100 == 2;
    char tmp[16384];
    while (!p.is_done()) {
      p.get().body().data = tmp;
      p.get().body().size = sizeof tmp;
      s.expires_after(seconds(o.read_timeout_s));
      co_await http::async_read_some(s, buf, p, asio::redirect_error(asio::use_awaitable, ec));
      if (op.aborted) {
        res.cancelled = true;
        co_return false;
      }
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        res.error = ec == beast::error::timeout ? timeout_text("waiting for more of the response")
                    : dead_connection(ec)       ? "the server closed the connection mid-response"
                                                : "bad response: " + ec.message();
        co_return false;
      }
      size_t n = sizeof tmp - p.get().body().size;
      if (n == 0) continue;
      if (streamed) {
        op.on_chunk(std::string_view(tmp, n));
      } else {
        if (res.body.size() + n > o.max_body_bytes) {
          res.error = "response body larger than " + std::to_string(o.max_body_bytes) + " bytes";
          co_return false;
        }
        res.body.append(tmp, n);
      }
    }
    if (p.get().keep_alive() && !closing && idle.size() < o.max_idle_connections)
      idle.push_back(std::move(op.stream));
    co_return false;
  }

  asio::awaitable<void> run(std::shared_ptr<Op> op) {
    HttpResult res;
    try {
      for (int attempt = 0;; ++attempt) {
        bool reused = false;
        if (attempt == 0 && !idle.empty()) {
          op->stream = std::move(idle.back());
          idle.pop_back();
          reused = true;
        } else {
          std::string err = co_await connect(*op);
          if (op->aborted) {
            res.cancelled = true;
            break;
          }
          if (!err.empty()) {
            res.error = "cannot connect to " + owner.endpoint_.url() + ": " + err;
            break;
          }
        }
        if (!co_await exchange(*op, reused, res)) break;
        res = {};
      }
    } catch (const Error& e) {  // from on_chunk: the body broke the caller's rules
      res = {};
      res.error = e.what();
    } catch (const std::exception& e) {
      res = {};
      res.error = std::string("internal error: ") + e.what();
    }
    if (op->aborted) res.cancelled = true;
    ops.erase(op->id);
    op->stream.reset();
    auto done = std::move(op->on_done);
    try {
      done(std::move(res));
    } catch (...) {
      // A callback that throws must not take the I/O thread down with it.
    }
  }

  static void close(Op& op) {
    op.aborted = true;
    if (op.stream) {
      beast::error_code ec;
      op.stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      op.stream->close();
    }
  }
};

std::string failure_text(const HttpResult& r, const std::string& what) {
  if (r.cancelled) return what + ": cancelled";
  if (!r.error.empty()) return what + ": " + r.error;
  if (r.status / 100 == 2) return "";
  std::string msg;
  auto j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error")) msg = error_message(j["error"]);
  if (msg.empty()) msg = r.body.substr(0, 200);
  std::string text = what + ": server answered HTTP " + std::to_string(r.status);
  if (!msg.empty()) text += ": " + msg;
  if (r.status == 401 || r.status == 403)
    text += " (pass the server's key with --api-key or $SGP_API_KEY)";
  return text;
}

HttpClient::HttpClient(Endpoint endpoint, HttpOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  impl_ = std::make_unique<Impl>(*this);
}

HttpClient::~HttpClient() {
  Impl* im = impl_.get();
  asio::post(im->io, [im] {
    im->closing = true;
    for (auto& kv : im->ops) Impl::close(*kv.second);
    im->idle.clear();
  });
  im->work.reset();
  im->thread.join();
}

HttpClient::Id HttpClient::start(HttpMethod method, std::string path, std::string body,
                                 std::function<void(std::string_view)> on_chunk,
                                 std::function<void(HttpResult)> on_done) {
  auto op = std::make_shared<Op>();
  op->id = impl_->next_id++;
  op->method = method;
  op->path = std::move(path);
  op->body = std::move(body);
  op->on_chunk = std::move(on_chunk);
  op->on_done = std::move(on_done);
  Impl* im = impl_.get();
  asio::post(im->io, [im, op] {
    if (im->closing) {
      HttpResult r;
      r.cancelled = true;
      op->on_done(std::move(r));
      return;
    }
    im->ops[op->id] = op;
    asio::co_spawn(im->io, im->run(op), asio::detached);
  });
  return op->id;
}

HttpClient::Id HttpClient::defer(std::function<void()> fn) {
  Id id = impl_->next_id++;
  asio::post(impl_->io, std::move(fn));
  return id;
}

void HttpClient::abort(Id id) {
  Impl* im = impl_.get();
  asio::post(im->io, [im, id] {
    auto it = im->ops.find(id);
    if (it != im->ops.end()) Impl::close(*it->second);
  });
}

HttpResult HttpClient::call(HttpMethod method, std::string path, std::string body) {
  if (impl_->io.get_executor().running_in_this_thread())
    throw Error("internal: blocking HTTP call on the HTTP client's own thread");
  std::promise<HttpResult> done;
  auto result = done.get_future();
  start(method, std::move(path), std::move(body), nullptr,
        [&done](HttpResult r) { done.set_value(std::move(r)); });
  return result.get();
}

}  // namespace sgp::remote
