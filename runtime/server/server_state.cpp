// ServerState construction.
#include "server/server_state.h"

#include <ctime>

namespace sgp::server {

ServerState::ServerState(asio::io_context& io_context, ServerOptions opts,
                         std::shared_ptr<interp::LocalModelClient> model)
    : io(io_context),
      options(std::move(opts)),
      client(std::move(model)),
      vocab(constraint::Vocabulary::from_tokenizer(*client->tokenizer())),
      auth(options.auth),
      model_id(options.model_name.empty() ? client->name() : options.model_name),
      started(static_cast<double>(std::time(nullptr))) {}

}  // namespace sgp::server
