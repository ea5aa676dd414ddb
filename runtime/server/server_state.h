// ServerState: what every handler shares — the model, options, metrics, auth, registered programs.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "compiler/graph.h"
#include "constraint/vocabulary.h"
#include "interp/asio.h"
#include "interp/model_client.h"
#include "server/auth.h"
#include "server/cancel_signal.h"
#include "server/metrics.h"
#include "server/server_options.h"

namespace sgp::server {

namespace asio = boost::asio;

// Touched from the io thread only.
struct ServerState {
  ServerState(asio::io_context& io, ServerOptions options,
              std::shared_ptr<interp::LocalModelClient> client);

  asio::io_context& io;
  ServerOptions options;
  std::shared_ptr<interp::LocalModelClient> client;
  std::shared_ptr<const constraint::Vocabulary> vocab;
  Authenticator auth;
  Metrics metrics;
  std::string model_id;  // /v1/models id; requests naming another model get 404
  std::map<std::string, std::shared_ptr<const graph::Program>> programs;
  int generating = 0;  // requests holding a concurrency slot
  bool draining = false;
  std::set<std::shared_ptr<CancelSignal>> active;  // cancelled all at once at drain timeout
  double started = 0;                              // unix time, for /v1/models "created"
};

}  // namespace sgp::server
