// RemoteModelClient: a ModelClient over a remote `sgrun serve`, through its native HTTP API.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "interp/model_client.h"
#include "remote/http_client.h"
#include "remote/token_cache.h"

namespace sgp::remote {

// Generation, select scoring and constraints all run on the server, so its radix cache serves
// every program's shared prefixes. Constraints travel as their source (SamplingParams::
// constraint_spec). Tokenizations are cached (TokenCache); the model's facts (BOS, chat template,
// vocabulary size) are fetched once, at construction.
class RemoteModelClient : public interp::ModelClient {
 public:
  // Throws sgp::Error when the server cannot be reached or is not an sgrun server.
  RemoteModelClient(Endpoint endpoint, HttpOptions options);

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
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
  std::unique_ptr<HttpClient> http_;
  std::string model_;
  int vocab_size_ = 0;  // 0: the server did not say
  int32_t bos_id_ = -1;
  bool add_bos_ = false;
  std::string chat_template_;
  mutable TokenCache cache_;
};

}  // namespace sgp::remote
