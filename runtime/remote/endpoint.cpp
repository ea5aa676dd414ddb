// Endpoint: URL parsing for remote backends.
#include "remote/endpoint.h"

#include <cctype>

#include "sgp/error.h"

namespace sgp::remote {

std::string Endpoint::url() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "http://" + h + ":" + port + base_path;
}

Endpoint parse_endpoint(std::string_view url) {
  const std::string text(url);
  auto bad = [&](const std::string& why) {
    return Error("bad backend URL '" + text + "': " + why + " (expected http://HOST:PORT)");
  };
  if (url.starts_with("https://"))
    throw Error("backend URL '" + text +
                "': https is not supported by the remote client; use http:// (a TLS-terminating "
                "proxy or an SSH tunnel can carry it)");
  if (!url.starts_with("http://")) throw bad("it must start with http://");
  std::string_view rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Endpoint e;
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.find_first_of("?# ") != std::string_view::npos)
      throw bad("no query, fragment or spaces in the path");
    e.base_path = std::string(path);
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw bad("unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    if (authority.find('@') != std::string_view::npos)
      throw bad("no user:password@ (use --api-key)");
    size_t colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (e.host.empty()) throw bad("no host");
  for (char c : e.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':'))
      throw bad("invalid character in the host");
  if (!port.empty()) {
    if (port.size() > 5) throw bad("port out of range");
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad("the port must be a number");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) throw bad("port out of range");
    e.port = std::string(port);
  }
  return e;
}

}  // namespace sgp::remote
