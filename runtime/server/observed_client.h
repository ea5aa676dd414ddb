// ObservedClient: a ModelClient that forwards to another and reports each finished generation
// (the per-`gen` events of /v1/programs/run).
#pragma once

#include <functional>
#include <memory>

#include "interp/asio.h"
#include "interp/model_client.h"

namespace sgp::server {

namespace asio = boost::asio;

class ObservedClient : public interp::ModelClient {
 public:
  // `on_gen` runs on `ex` (before the interpreter sees the result, which it also posts there).
  ObservedClient(std::shared_ptr<interp::ModelClient> inner, asio::any_io_executor ex,
                 std::function<void(const engine::GenerateResult&)> on_gen)
      : inner_(std::move(inner)), ex_(std::move(ex)), on_gen_(std::move(on_gen)) {}

  engine::RequestId generate(engine::GenerateRequest request) override {
    auto done = std::move(request.on_done);
    request.on_done = [ex = ex_, cb = on_gen_, done](engine::GenerateResult r) {
      asio::post(ex, [cb, r] { cb(r); });
      done(std::move(r));
    };
    return inner_->generate(std::move(request));
  }
  engine::RequestId score(engine::ScoreRequest request) override {
    return inner_->score(std::move(request));
  }
  void cancel(engine::RequestId id) override { inner_->cancel(id); }
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override {
    return inner_->tokenize(text, parse_special);
  }
  std::string detokenize(const std::vector<int32_t>& tokens) const override {
    return inner_->detokenize(tokens);
  }
  int32_t bos_id() const override { return inner_->bos_id(); }
  bool add_bos() const override { return inner_->add_bos(); }
  std::string chat_template() const override { return inner_->chat_template(); }
  std::string name() const override { return inner_->name(); }
  std::shared_ptr<const model::Tokenizer> tokenizer() const override { return inner_->tokenizer(); }
  engine::EngineStats stats() const override { return inner_->stats(); }

 private:
  std::shared_ptr<interp::ModelClient> inner_;
  asio::any_io_executor ex_;
  std::function<void(const engine::GenerateResult&)> on_gen_;
};

}  // namespace sgp::server
