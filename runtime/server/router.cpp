// Route lookup.
#include "server/router.h"

namespace sgp::server {

const Route* Router::find(http::verb method, const std::string& path, bool& path_known) const {
  path_known = false;
  for (const Route& r : routes_) {
    if (r.path != path) continue;
    path_known = true;
    if (r.method == method) return &r;
  }
  return nullptr;
}

}  // namespace sgp::server
