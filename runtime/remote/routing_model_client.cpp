// RoutingModelClient: request bookkeeping around the router (ids, cancels, finished prefixes).
#include "remote/routing_model_client.h"

#include "sgp/error.h"

namespace sgp::remote {

RoutingModelClient::RoutingModelClient(std::vector<std::shared_ptr<interp::ModelClient>> backends,
                                       RoutingOptions options)
    : backends_(std::move(backends)), router_(backends_.size(), options) {
  for (const auto& b : backends_)
    if (!b) throw Error("internal: null backend");
  facts_ = backends_.front().get();
  for (const auto& b : backends_)
    if (b->tokenizer()) facts_ = b.get();
  // Not a proof of equal vocabularies, but different models give themselves away here.
  const std::string probe =
      "Hello, world! 12345 <|im_start|>user\n\xc3\xa9t\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd";
  auto want = facts_->tokenize(probe, true);
  for (const auto& b : backends_) {
    if (b.get() == facts_) continue;
    if (b->tokenize(probe, true) != want || b->bos_id() != facts_->bos_id() ||
        b->add_bos() != facts_->add_bos())
      throw Error("backends '" + facts_->name() + "' and '" + b->name() +
                  "' do not serve the same tokenizer; every --backend must serve the same model");
  }
  routed_.assign(backends_.size(), 0);
}

std::string RoutingModelClient::name() const {
  std::string s;
  for (const auto& b : backends_) s += (s.empty() ? "" : ", ") + b->name();
  return "routed(" + s + ")";
}

std::shared_ptr<const model::Tokenizer> RoutingModelClient::tokenizer() const {
  return facts_->tokenizer();
}

std::vector<int32_t> RoutingModelClient::tokenize(std::string_view text, bool parse_special) const {
  return facts_->tokenize(text, parse_special);
}

std::string RoutingModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  return facts_->detokenize(tokens);
}

engine::EngineStats RoutingModelClient::stats() const {
  engine::EngineStats sum;
  for (const auto& b : backends_) {
    engine::EngineStats s = b->stats();
    sum.steps += s.steps;
    sum.forward_tokens += s.forward_tokens;
    sum.prefill_tokens += s.prefill_tokens;
    sum.cached_tokens += s.cached_tokens;
    sum.decode_tokens += s.decode_tokens;
    sum.forced_tokens += s.forced_tokens;
    sum.max_batch_seqs = std::max(sum.max_batch_seqs, s.max_batch_seqs);
    sum.preemptions += s.preemptions;
    sum.pages_total += s.pages_total;
    sum.pages_free += s.pages_free;
    sum.pages_in_use += s.pages_in_use;
    sum.requests_done += s.requests_done;
  }
  return sum;
}

std::vector<uint64_t> RoutingModelClient::routed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return routed_;
}

engine::RequestId RoutingModelClient::begin(const std::vector<int32_t>& prompt, size_t& backend) {
  std::lock_guard<std::mutex> lock(mu_);
  backend = router_.route(prompt);
  ++routed_[backend];
  engine::RequestId id = next_id_++;
  live_[id] = Live{backend, 0, false, false};
  return id;
}

void RoutingModelClient::submitted(engine::RequestId id, engine::RequestId inner) {
  size_t backend = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;  // already finished
    it->second.inner = inner;
    it->second.submitted = true;
    if (!it->second.cancel_pending) return;
    backend = it->second.backend;
  }
  backends_[backend]->cancel(inner);
}

void RoutingModelClient::ended(engine::RequestId id, const std::vector<int32_t>& tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  router_.finished(it->second.backend, tokens);
  live_.erase(it);
}

engine::RequestId RoutingModelClient::generate(engine::GenerateRequest request) {
  size_t b = 0;
  engine::RequestId id = begin(request.prompt, b);
  auto done = std::move(request.on_done);
  request.on_done = [this, id, done, prompt = request.prompt](engine::GenerateResult r) mutable {
    std::vector<int32_t> all = std::move(prompt);
    if (r.finish == engine::FinishReason::Error || r.finish == engine::FinishReason::Cancelled)
      all.clear();  // nothing new is cached there
    else
      all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    ended(id, all);
    r.id = id;
    done(std::move(r));
  };
  submitted(id, backends_[b]->generate(std::move(request)));
  return id;
}

engine::RequestId RoutingModelClient::score(engine::ScoreRequest request) {
  size_t b = 0;
  engine::RequestId id = begin(request.prefix, b);
  auto done = std::move(request.on_done);
  request.on_done = [this, id, done](engine::ScoreResult r) {
    ended(id, {});
    r.id = id;
    done(std::move(r));
  };
  submitted(id, backends_[b]->score(std::move(request)));
  return id;
}

void RoutingModelClient::cancel(engine::RequestId id) {
  size_t backend = 0;
  engine::RequestId inner = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    if (!it->second.submitted) {
      it->second.cancel_pending = true;
      return;
    }
    backend = it->second.backend;
    inner = it->second.inner;
  }
  backends_[backend]->cancel(inner);
}

}  // namespace sgp::remote
