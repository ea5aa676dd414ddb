// HTTP request parsing helpers.
#include "server/http_message.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace sgp::server {

void apply_limits(Parser& parser, const Limits& limits) {
  parser.body_limit(limits.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
}

int status_for_parse_error(const boost::beast::error_code& ec) {
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  return 400;
}

ParsedRequest parse_request_bytes(std::string_view bytes, const Limits& limits) {
  ParsedRequest out;
  Parser parser;
  apply_limits(parser, limits);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  // put() stops after the header; eager parsing then takes the body in further calls.
  while (!ec && !parser.is_done() && used < bytes.size()) {
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (n == 0) break;
    used += n;
  }
  if (!ec && !parser.is_done()) {
    parser.put_eof(ec);
    if (!ec && !parser.is_done()) ec = http::error::partial_message;
  }
  if (ec) {
    out.status = status_for_parse_error(ec);
    out.error = ec.message();
    return out;
  }
  out.request = parser.release();
  return out;
}

std::string request_path(const Request& req) {
  std::string_view t(req.target().data(), req.target().size());
  auto q = t.find('?');
  return std::string(t.substr(0, q));
}

std::string request_id_for(const Request& req) {
  auto it = req.find("X-Request-Id");
  if (it != req.end()) {
    std::string_view v(it->value().data(), it->value().size());
    bool ok = !v.empty() && v.size() <= 128;
    for (char c : v) ok = ok && c > 0x20 && c < 0x7f;
    if (ok) return std::string(v);
  }
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt =
      std::random_device{}() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  uint64_t x = salt + 0x9e3779b97f4a7c15ull * ++counter;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  char buf[24];
  std::snprintf(buf, sizeof buf, "req-%016llx", static_cast<unsigned long long>(x));
  return buf;
}

}  // namespace sgp::server
