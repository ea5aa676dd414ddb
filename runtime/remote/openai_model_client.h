// OpenAiModelClient: a ModelClient over any OpenAI-compatible server (/v1/completions), text only.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "interp/model_client.h"
#include "remote/http_client.h"

namespace sgp::remote {

// Such servers speak text, not our token ids, so the program state is kept as bytes: token id =
// byte value (tokenize/detokenize are exact and local), and each request sends the state's text.
// Limits (docs/remote.md): the server tokenizes the text itself, so token boundaries may differ
// from a native run; select needs prompt log-probabilities (`echo` with `logprobs`), else it
// fails with a clear error, and its per-token scores are spread over bytes (method "normalized"
// divides by bytes, "greedy" compares bytes); constraints go out as `response_format`
// (json_schema, or the regex extension that sgrun and vLLM accept); no stop_token_ids/ignore_eos
// unless the server takes those extensions.
class OpenAiModelClient : public interp::ModelClient {
 public:
  // model "": the first of GET /v1/models. Throws sgp::Error when unreachable.
  OpenAiModelClient(Endpoint endpoint, HttpOptions options, std::string model = "");

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  void cancel(engine::RequestId id) override;
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override { return -1; }
  bool add_bos() const override { return false; }
  std::string chat_template() const override { return ""; }
  std::string name() const override;

 private:
  std::string where(const char* what) const;
  // Before http_: its destructor still completes requests, whose callbacks use these.
  std::mutex mu_;
  // A select's requests (one per choice) under the id of its first, for cancel().
  std::unordered_map<HttpClient::Id, std::vector<HttpClient::Id>> groups_;
  std::unique_ptr<HttpClient> http_;
  std::string model_;
};

}  // namespace sgp::remote
