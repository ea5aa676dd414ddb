// HTTP request parsing with the server's size limits, and request ids.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "server/server_options.h"

namespace sgp::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Parser = http::request_parser<http::string_body>;

// Applies max_body_bytes / max_header_bytes to a parser (before it reads anything).
void apply_limits(Parser& parser, const Limits& limits);

// The status a parse failure answers with: 413 body too large, 431 headers too large, else 400.
int status_for_parse_error(const boost::beast::error_code& ec);

// Parses one whole request held in `bytes` (tests and the fuzz target; the server parses from
// its socket with the same limits). Either `request` is set or `status`/`error` say why not.
struct ParsedRequest {
  std::optional<Request> request;
  int status = 0;
  std::string error;
};
ParsedRequest parse_request_bytes(std::string_view bytes, const Limits& limits);

// The request's path without query string.
std::string request_path(const Request& req);

// An incoming X-Request-Id is kept when it is 1-128 printable ASCII characters without
// spaces; otherwise a new random id is made.
std::string request_id_for(const Request& req);

}  // namespace sgp::server
