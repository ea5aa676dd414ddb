// RemoteModelClient: a ModelClient over a remote `sgrun serve`, through its native HTTP API.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "interp/model_client.h"
#include "remote/failover_backend.h"
#include "remote/http_client.h"
#include "remote/token_cache.h"

namespace sgp::remote {

// Generation, select scoring and constraints all run on the server, so its radix cache serves
// every program's shared prefixes. Constraints travel as their source (SamplingParams::
// constraint_spec). Tokenizations are cached (TokenCache); the model's facts (BOS, chat template,
// vocabulary size) are fetched once, at construction.
// As a FailoverBackend (under a router), a request the server cannot take or drops is handed
// back through on_down rather than failed, so the router can send it elsewhere.
class RemoteModelClient : public interp::ModelClient, public FailoverBackend {
 public:
  // Throws sgp::Error when the server cannot be reached or is not an sgrun server. With
  // allow_down, a server that cannot be reached (or is draining) yields a client that is not
  // ready() yet (startup_error() says why); probe() completes it once the server answers.
  RemoteModelClient(Endpoint endpoint, HttpOptions options, bool allow_down = false);

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  engine::RequestId generate_or_down(engine::GenerateRequest request, OnDown on_down) override;
  engine::RequestId score_or_down(engine::ScoreRequest request, OnDown on_down) override;
  bool probe(std::string& why) override;
  bool ready() const override { return ready_.load(std::memory_order_acquire); }
  const std::string& startup_error() const { return startup_error_; }
  void cancel(engine::RequestId id) override;
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override { return bos_id_; }
  bool add_bos() const override { return add_bos_; }
  std::string chat_template() const override { return chat_template_; }
  std::string name() const override;

  const Endpoint& endpoint() const { return http_->endpoint(); }
  int vocab_size() const { return vocab_size_; }

 private:
  std::string where(const char* what) const;
  // GET /model_info through `http`; "" when the facts are in, else why not (`unreachable` set
  // when the server could not be reached or is draining, rather than answering wrongly).
  std::string fetch_facts(HttpClient& http, bool& unreachable);
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<HttpClient> probe_http_;  // short deadlines, its own connections
  std::atomic<bool> ready_{false};
  std::string startup_error_;
  std::string model_;
  int vocab_size_ = 0;  // 0: the server did not say
  int32_t bos_id_ = -1;
  bool add_bos_ = false;
  std::string chat_template_;
  mutable TokenCache cache_;
};

}  // namespace sgp::remote
