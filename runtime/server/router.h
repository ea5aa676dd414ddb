// Router: method + exact path → handler, with each route's auth and concurrency class.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/request_context.h"

namespace sgp::server {

using Handler = std::function<asio::awaitable<void>(RequestContext&)>;

struct Route {
  http::verb method;
  std::string path;
  Handler handler;
  bool open = false;        // answered without credentials (/health)
  bool generation = false;  // holds a concurrency slot (429 past the limit), has a timeout
};

class Router {
 public:
  void add(Route route) { routes_.push_back(std::move(route)); }
  // The route for (method, path); null when none. `path_known` says whether any method has it
  // (405 rather than 404).
  const Route* find(http::verb method, const std::string& path, bool& path_known) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace sgp::server
