// BackendList: spec parsing, API keys from the environment, and assembling the client.
#include "remote/backend_list.h"

#include <cstdlib>
#include <iostream>

#include "remote/openai_model_client.h"
#include "remote/remote_model_client.h"
#include "remote/routing_model_client.h"
#include "sgp/error.h"

namespace sgp::remote {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::vector<std::string> split_backends(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string one = v.substr(start, comma - start);
      while (!one.empty() && one.front() == ' ') one.erase(one.begin());
      while (!one.empty() && one.back() == ' ') one.pop_back();
      if (!one.empty()) out.push_back(one);
      start = comma + 1;
    }
  }
  return out;
}

bool is_remote_backend(std::string_view spec) {
  return spec.starts_with("http://") || spec.starts_with("https://") || spec.starts_with("openai:");
}

std::shared_ptr<interp::ModelClient> open_backends(
    const std::vector<std::string>& specs, const BackendOptions& options,
    const std::function<std::shared_ptr<interp::ModelClient>(const std::string&)>& load_local) {
  if (specs.empty()) return load_local("cpu");
  std::vector<std::shared_ptr<interp::ModelClient>> clients;
  bool local = false;
  std::vector<std::string> down;  // why each backend that is down at start is
  for (const std::string& spec : specs) {
    if (spec.starts_with("openai:")) {
      HttpOptions h = options.http;
      if (h.api_key.empty()) h.api_key = env("OPENAI_API_KEY");
      if (h.api_key.empty()) h.api_key = env("SGP_API_KEY");
      clients.push_back(std::make_shared<OpenAiModelClient>(parse_endpoint(spec.substr(7)), h,
                                                            options.openai_model));
    } else if (is_remote_backend(spec)) {
      HttpOptions h = options.http;
      if (h.api_key.empty()) h.api_key = env("SGP_API_KEY");
      // With other backends to fall back on, one that is down at start only starts down.
      auto c = std::make_shared<RemoteModelClient>(parse_endpoint(spec), h, specs.size() > 1);
      if (!c->ready()) down.push_back(c->startup_error());
      clients.push_back(std::move(c));
    } else {
      if (local) throw Error("--backend: only one local backend ('" + spec + "' given twice)");
      local = true;
      clients.push_back(load_local(spec));
    }
  }
  if (clients.size() == 1) return clients.front();
  for (const auto& c : clients)
    if (dynamic_cast<OpenAiModelClient*>(c.get()))
      throw Error(
          "--backend openai:... cannot be combined with other backends (its text-only "
          "state does not carry over as token ids)");
  if (down.size() == clients.size()) {
    std::string all;
    for (const std::string& d : down) all += "\n  " + d;
    throw Error("none of the backends can be reached:" + all);
  }
  for (const std::string& d : down)
    std::cerr << "sgrun: warning: " << d << "; starting without this backend (retried later)"
              << std::endl;
  return std::make_shared<RoutingModelClient>(std::move(clients), options.routing);
}

}  // namespace sgp::remote
