// RoutingModelClient: one ModelClient over several backends (local and/or remote) serving the
// same model; each request goes where CacheAwareRouter sends it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "interp/model_client.h"
#include "remote/cache_aware_router.h"

namespace sgp::remote {

class RoutingModelClient : public interp::ModelClient {
 public:
  // Throws sgp::Error when the backends tokenize differently (token ids must mean the same
  // everywhere, since a program's state moves between them as token ids).
  RoutingModelClient(std::vector<std::shared_ptr<interp::ModelClient>> backends,
                     RoutingOptions options = {});

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  void cancel(engine::RequestId id) override;
  // Tokenizer questions go to a local backend when there is one (no round trip), else the first.
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override { return facts_->bos_id(); }
  bool add_bos() const override { return facts_->add_bos(); }
  std::string chat_template() const override { return facts_->chat_template(); }
  std::string name() const override;
  std::shared_ptr<const model::Tokenizer> tokenizer() const override;
  engine::EngineStats stats() const override;  // local backends' counters, summed

  // Requests sent to each backend so far (for tests and traces).
  std::vector<uint64_t> routed() const;
  const std::vector<std::shared_ptr<interp::ModelClient>>& backends() const { return backends_; }

 private:
  struct Live {
    size_t backend = 0;
    engine::RequestId inner = 0;
    bool submitted = false;  // inner is known (the backend's submit returned)
    bool cancel_pending = false;
  };
  engine::RequestId begin(const std::vector<int32_t>& prompt, size_t& backend);
  void submitted(engine::RequestId id, engine::RequestId inner);
  void ended(engine::RequestId id, const std::vector<int32_t>& tokens);

  std::vector<std::shared_ptr<interp::ModelClient>> backends_;
  interp::ModelClient* facts_ = nullptr;
  mutable std::mutex mu_;
  CacheAwareRouter router_;
  std::unordered_map<engine::RequestId, Live> live_;
  std::vector<uint64_t> routed_;
  engine::RequestId next_id_ = 1;
};

}  // namespace sgp::remote
