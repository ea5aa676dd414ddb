// Endpoint: where a remote server listens (host, port, base path), parsed from an http:// URL.
#pragma once

#include <string>
#include <string_view>

namespace sgp::remote {

struct Endpoint {
  std::string host;  // name or address; IPv6 without brackets
  std::string port = "80";
  std::string base_path;    // "" or "/v1" (no trailing slash); prefixed to every request path
  std::string url() const;  // "http://host:port/base"
};

// "http://HOST[:PORT][/PATH]" (IPv6 as [::1]). Throws sgp::Error naming what is wrong; https is
// refused with a hint (no TLS in the client: put a TLS proxy in front).
Endpoint parse_endpoint(std::string_view url);

}  // namespace sgp::remote
