// RoutingModelClient: request bookkeeping around the router (ids, cancels, finished prefixes),
// failover between backends and the health prober.
#include "remote/routing_model_client.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "remote/json_wire.h"
#include "sgp/error.h"

namespace sgp::remote {

// One generate request over its attempts.
struct RoutingModelClient::GenCall {
  engine::RequestId id = 0;
  engine::GenerateRequest req;  // the caller's prompt, sampling and callbacks
  std::vector<char> tried;      // per backend
  std::string shown;            // text handed to req.on_text so far, over all attempts
  std::string failures;         // why the earlier attempts failed
};

struct RoutingModelClient::ScoreCall {
  engine::RequestId id = 0;
  engine::ScoreRequest req;
  std::vector<char> tried;
  std::string failures;
};

namespace {

// Not a proof of equal vocabularies, but different models give themselves away here.
const std::string kProbe =
    "Hello, world! 12345 <|im_start|>user\n\xc3\xa9t\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd";

void add_reason(std::string& all, const std::string& reason) {
  all += (all.empty() ? "" : "; ") + reason;
}

}  // namespace

RoutingModelClient::RoutingModelClient(std::vector<std::shared_ptr<interp::ModelClient>> backends,
                                       RoutingOptions options)
    : backends_(std::move(backends)), options_(options), router_(backends_.size(), options) {
  for (const auto& b : backends_)
    if (!b) throw Error("internal: null backend");
  health_.resize(backends_.size());
  bool any_ready = false;
  for (size_t i = 0; i < backends_.size(); ++i) {
    Health& h = health_[i];
    h.failover = dynamic_cast<FailoverBackend*>(backends_[i].get());
    if (h.failover && !h.failover->ready()) {
      h.up = false;
      h.retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options_.retry_initial_s));
      continue;
    }
    if (!any_ready || backends_[i]->tokenizer()) facts_index_ = i;
    any_ready = true;
  }
  if (!any_ready) throw Error("none of the backends can be reached");
  facts_ = backends_[facts_index_].get();
  for (size_t i = 0; i < backends_.size(); ++i)
    if (i != facts_index_ && health_[i].up) check_model(i);
  routed_.assign(backends_.size(), 0);
  prober_ = std::thread([this] { prober(); });
}

RoutingModelClient::~RoutingModelClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  prober_.join();
  // Backends still finishing requests call back into this object (cancelled results): let them
  // do it while its members exist.
  backends_.clear();
}

void RoutingModelClient::check_model(size_t i) const {
  const auto& b = backends_[i];
  if (b->tokenize(kProbe, true) != facts_->tokenize(kProbe, true) ||
      b->bos_id() != facts_->bos_id() || b->add_bos() != facts_->add_bos())
    throw Error("backends '" + facts_->name() + "' and '" + b->name() +
                "' do not serve the same tokenizer; every --backend must serve the same model");
}

void RoutingModelClient::set_log(std::function<void(const std::string&)> log) {
  std::lock_guard<std::mutex> lock(mu_);
  log_ = std::move(log);
}

void RoutingModelClient::log(const std::string& line) const {
  if (log_)
    log_(line);
  else
    std::cerr << "sgrun: " << line << std::endl;
}

std::string RoutingModelClient::name() const {
  std::string s;
  for (const auto& b : backends_) s += (s.empty() ? "" : ", ") + b->name();
  return "routed(" + s + ")";
}

std::shared_ptr<const model::Tokenizer> RoutingModelClient::tokenizer() const {
  return facts_->tokenizer();
}

template <class R>
R RoutingModelClient::ask_any(const std::function<R(interp::ModelClient&)>& fn) const {
  // The facts backend first, then the others that are up (and checked), in order.
  std::vector<size_t> order{facts_index_};
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < backends_.size(); ++i)
      if (i != facts_index_ && health_[i].up && !health_[i].refused) order.push_back(i);
  }
  std::string first;
  for (size_t i : order) {
    try {
      return fn(*backends_[i]);
    } catch (const BackendDown& e) {
      std::lock_guard<std::mutex> lock(mu_);
      mark_down_locked(i, e.what());
      if (first.empty()) first = e.what();
    }
  }
  throw Error(first);
}

std::vector<int32_t> RoutingModelClient::tokenize(std::string_view text, bool parse_special) const {
  return ask_any<std::vector<int32_t>>(
      [&](interp::ModelClient& b) { return b.tokenize(text, parse_special); });
}

std::string RoutingModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  return ask_any<std::string>([&](interp::ModelClient& b) { return b.detokenize(tokens); });
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

std::vector<bool> RoutingModelClient::healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<bool> out;
  for (const Health& h : health_) out.push_back(h.up && !h.refused);
  return out;
}

size_t RoutingModelClient::begin_attempt(engine::RequestId id, const std::vector<int32_t>& prompt,
                                         std::vector<char>& tried, uint64_t& attempt,
                                         bool& cancelled) {
  std::lock_guard<std::mutex> lock(mu_);
  Live& live = live_.at(id);
  if (live.cancelled) {
    cancelled = true;
    return SIZE_MAX;
  }
  const size_t n = backends_.size();
  std::vector<char> eligible(n, 0);
  bool any = false;
  for (size_t i = 0; i < n; ++i)
    if (!tried[i] && health_[i].up && !health_[i].refused) eligible[i] = 1, any = true;
  // Every untried backend is down: try those that have their facts anyway (one may be back
  // before its probe says so) rather than fail a request that has not been tried there.
  if (!any)
    for (size_t i = 0; i < n; ++i)
      if (!tried[i] && !health_[i].refused &&
          (!health_[i].failover || health_[i].failover->ready()))
        eligible[i] = 1, any = true;
  if (!any) return SIZE_MAX;
  size_t b = router_.route(prompt, &eligible);
  tried[b] = 1;
  ++routed_[b];
  live.backend = b;
  attempt = ++live.attempt;
  live.inner = 0;
  live.submitted = false;
  live.counted = true;
  return b;
}

void RoutingModelClient::submitted(engine::RequestId id, uint64_t attempt,
                                   engine::RequestId inner) {
  size_t backend = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end() || it->second.attempt != attempt) return;  // already over
    it->second.inner = inner;
    it->second.submitted = true;
    if (!it->second.cancelled) return;
    backend = it->second.backend;
  }
  backends_[backend]->cancel(inner);
}

void RoutingModelClient::ended(engine::RequestId id, const std::vector<int32_t>& tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return;
  if (it->second.counted) router_.finished(it->second.backend, tokens);
  live_.erase(it);
}

void RoutingModelClient::mark_down_locked(size_t b, const std::string& reason) const {
  Health& h = health_[b];
  if (!h.failover || !h.up) return;
  h.up = false;
  h.failures = 0;
  h.retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options_.retry_initial_s));
  log("backend " + backends_[b]->name() + " is down (" + reason +
      "); routing around it until it answers again");
  wake_.notify_all();
}

void RoutingModelClient::attempt_failed(engine::RequestId id, size_t backend,
                                        const BackendFailure& f) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(id);
  if (it != live_.end() && it->second.counted) {
    router_.finished(backend, {});
    it->second.counted = false;
  }
  if (!f.overloaded) mark_down_locked(backend, f.reason);
}

namespace {

engine::RequestId send(interp::ModelClient& c, engine::GenerateRequest r) {
  return c.generate(std::move(r));
}
engine::RequestId send(interp::ModelClient& c, engine::ScoreRequest r) {
  return c.score(std::move(r));
}
engine::RequestId send(FailoverBackend& c, engine::GenerateRequest r, FailoverBackend::OnDown d) {
  return c.generate_or_down(std::move(r), std::move(d));
}
engine::RequestId send(FailoverBackend& c, engine::ScoreRequest r, FailoverBackend::OnDown d) {
  return c.score_or_down(std::move(r), std::move(d));
}

}  // namespace

template <class Req, class Call>
void RoutingModelClient::submit(size_t b, uint64_t attempt, Req req, std::shared_ptr<Call> call) {
  engine::RequestId inner = 0;
  if (FailoverBackend* fo = health_[b].failover) {
    inner = send(*fo, std::move(req), [this, call, b](BackendFailure f) {
      add_reason(call->failures, f.reason);
      attempt_failed(call->id, b, f);
      try_call(call);
    });
  } else {
    inner = send(*backends_[b], std::move(req));
  }
  submitted(call->id, attempt, inner);
}

void RoutingModelClient::try_call(std::shared_ptr<GenCall> call) {
  uint64_t attempt = 0;
  bool cancelled = false;
  size_t b = begin_attempt(call->id, call->req.prompt, call->tried, attempt, cancelled);
  if (b == SIZE_MAX) {
    engine::GenerateResult r;
    if (cancelled)
      r.finish = engine::FinishReason::Cancelled;
    else
      r = failed_result("no backend could run this request: " + call->failures);
    ended(call->id, {});
    r.id = call->id;
    call->req.on_done(std::move(r));
    return;
  }
  // What this attempt streamed; text the caller was already shown is not shown again, and a
  // restart that disagrees with it is not shown at all (its result becomes an error).
  struct Streamed {
    std::string text;
    bool diverged = false;
  };
  auto st = std::make_shared<Streamed>();
  engine::GenerateRequest req;
  req.prompt = call->req.prompt;
  req.sampling = call->req.sampling;
  if (call->req.on_text)
    req.on_text = [call, st](const std::string& delta) {
      st->text += delta;
      if (st->diverged) return;
      const size_t common = std::min(st->text.size(), call->shown.size());
      if (st->text.compare(0, common, call->shown, 0, common) != 0) {
        st->diverged = true;
        return;
      }
      if (st->text.size() <= call->shown.size()) return;
      std::string piece = st->text.substr(call->shown.size());
      call->shown = st->text;
      call->req.on_text(piece);
    };
  req.on_done = [this, call, st, b](engine::GenerateResult r) {
    bool ok =
        r.finish != engine::FinishReason::Error && r.finish != engine::FinishReason::Cancelled;
    if (ok && !call->shown.empty() &&
        (st->diverged || r.text.compare(0, call->shown.size(), call->shown) != 0)) {
      r = failed_result("the backend generating this text failed (" + call->failures +
                        ") and its restart on " + backends_[b]->name() +
                        " generated different text (sampling without a seed?); the text "
                        "already shown is not this request's result");
      ok = false;
    }
    std::vector<int32_t> all;
    if (ok) {  // else nothing new is cached there
      all = call->req.prompt;
      all.insert(all.end(), r.tokens.begin(), r.tokens.end());
    }
    ended(call->id, all);
    r.id = call->id;
    call->req.on_done(std::move(r));
  };
  submit(b, attempt, std::move(req), std::move(call));
}

void RoutingModelClient::try_call(std::shared_ptr<ScoreCall> call) {
  uint64_t attempt = 0;
  bool cancelled = false;
  size_t b = begin_attempt(call->id, call->req.prefix, call->tried, attempt, cancelled);
  if (b == SIZE_MAX) {
    engine::ScoreResult r;
    r.error = cancelled ? "cancelled" : "no backend could run this request: " + call->failures;
    ended(call->id, {});
    r.id = call->id;
    call->req.on_done(std::move(r));
    return;
  }
  engine::ScoreRequest req;
  req.prefix = call->req.prefix;
  req.continuations = call->req.continuations;
  req.on_done = [this, call](engine::ScoreResult r) {
    ended(call->id, {});
    r.id = call->id;
    call->req.on_done(std::move(r));
  };
  submit(b, attempt, std::move(req), std::move(call));
}

template <class Call, class Req>
engine::RequestId RoutingModelClient::start(Req request) {
  auto call = std::make_shared<Call>();
  call->req = std::move(request);
  call->tried.assign(backends_.size(), 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    call->id = next_id_++;
    live_[call->id] = Live{};
  }
  engine::RequestId id = call->id;
  try_call(std::move(call));
  return id;
}

engine::RequestId RoutingModelClient::generate(engine::GenerateRequest request) {
  return start<GenCall>(std::move(request));
}

engine::RequestId RoutingModelClient::score(engine::ScoreRequest request) {
  return start<ScoreCall>(std::move(request));
}

void RoutingModelClient::cancel(engine::RequestId id) {
  size_t backend = 0;
  engine::RequestId inner = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    it->second.cancelled = true;
    if (!it->second.submitted) return;  // submitted() or the next attempt sees the flag
    backend = it->second.backend;
    inner = it->second.inner;
  }
  backends_[backend]->cancel(inner);
}

void RoutingModelClient::prober() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closing_) {
    const auto now = Clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<size_t> due;
    for (size_t i = 0; i < health_.size(); ++i) {
      const Health& h = health_[i];
      if (!h.failover || h.up || h.refused) continue;
      if (h.retry_at <= now)
        due.push_back(i);
      else
        next = std::min(next, h.retry_at);
    }
    if (due.empty()) {
      wake_.wait_until(lock, next);
      continue;
    }
    for (size_t i : due) {
      FailoverBackend* fo = health_[i].failover;
      lock.unlock();
      const bool was_ready = fo->ready();
      std::string why, refused;
      bool ok = fo->probe(why);

      if (ok && !was_ready) {  // first contact: it must serve the same model
        try {
          check_model(i);
        } catch (const Error& e) {
          refused = e.what();
        }
      }
      lock.lock();
      if (closing_) return;
      Health& h = health_[i];
      if (!refused.empty()) {
        h.refused = true;
        log("backend " + backends_[i]->name() + " is not used: " + refused);
      } else if (ok) {
        h.up = true;
        h.failures = 0;
        log("backend " + backends_[i]->name() + " is up" + (was_ready ? " again" : ""));
      } else {
        ++h.failures;
        double wait =
            std::min(options_.retry_max_s, options_.retry_initial_s * std::pow(2.0, h.failures));
        h.retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(wait));
      }
    }
  }
}

}  // namespace sgp::remote
