// BackendList: `--backend` values (cpu, http://HOST:PORT, openai:URL) turned into one ModelClient.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "interp/model_client.h"
#include "remote/cache_aware_router.h"
#include "remote/http_client.h"

namespace sgp::remote {

struct BackendOptions {
  HttpOptions http;  // api_key "": $SGP_API_KEY (openai: $OPENAI_API_KEY, then $SGP_API_KEY)
  RoutingOptions routing;
  std::string openai_model;  // openai: the model to ask for ("" = the server's first)
};

// Splits repeated and comma-separated values into single backend specs.
std::vector<std::string> split_backends(const std::vector<std::string>& values);
// Whether a spec names a server rather than a local device ("cpu", "cuda").
bool is_remote_backend(std::string_view spec);

// One spec: the local engine (built by load_local(device)), an sgrun server (http://...) or an
// OpenAI-compatible one (openai:http://.../v1). Several: a RoutingModelClient over all of them.
// Throws sgp::Error (unreachable server, bad URL, mismatched models).
std::shared_ptr<interp::ModelClient> open_backends(
    const std::vector<std::string>& specs, const BackendOptions& options,
    const std::function<std::shared_ptr<interp::ModelClient>(const std::string& device)>&
        load_local);

}  // namespace sgp::remote
