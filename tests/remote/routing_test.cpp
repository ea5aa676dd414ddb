// Cache-aware routing: the policy on its own, the RoutingModelClient over held and scripted
// clients, and programs run through it (a follow-up stays where its state is cached).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "../runtime/fake_model_client.h"
#include "compiler/compile.h"
#include "interp/interpreter.h"
#include "remote/cache_aware_router.h"
#include "remote/failover_backend.h"
#include "remote/prefix_record.h"
#include "remote/routing_model_client.h"
#include "sgp/error.h"

using namespace sgp;
using remote::CacheAwareRouter;

namespace {

std::vector<int32_t> toks(const std::string& s) {
  std::vector<int32_t> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

// Holds every request until release(); byte tokens; records cancels.
class HoldClient : public interp::ModelClient {
 public:
  engine::RequestId generate(engine::GenerateRequest r) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::RequestId id = next_++;
    gens_.emplace_back(id, std::move(r));
    return id;
  }
  engine::RequestId score(engine::ScoreRequest r) override {
    std::lock_guard<std::mutex> lock(mu_);
    engine::RequestId id = next_++;
    scores_.emplace_back(id, std::move(r));
    return id;
  }
  void cancel(engine::RequestId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
  }
  std::vector<int32_t> tokenize(std::string_view t, bool) const override {
    return toks(std::string(t));
  }
  std::string detokenize(const std::vector<int32_t>& v) const override {
    return std::string(v.begin(), v.end());
  }
  int32_t bos_id() const override { return -1; }
  bool add_bos() const override { return false; }
  std::string chat_template() const override { return ""; }
  std::string name() const override { return "hold"; }

  // Completes every held gen with `reply` (Cancelled for cancelled ones) and every score.
  void release(const std::string& reply = " ok") {
    std::vector<std::pair<engine::RequestId, engine::GenerateRequest>> gens;
    std::vector<std::pair<engine::RequestId, engine::ScoreRequest>> scores;
    std::vector<engine::RequestId> cancels;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gens.swap(gens_);
      scores.swap(scores_);
      cancels = cancels_;
    }
    for (auto& [id, r] : gens) {
      engine::GenerateResult res;
      res.id = id;
      if (std::find(cancels.begin(), cancels.end(), id) != cancels.end()) {
        res.finish = engine::FinishReason::Cancelled;
      } else {
        res.text = reply;
        res.tokens = toks(reply);
        res.finish = engine::FinishReason::Eos;
      }
      r.on_done(std::move(res));
    }
    for (auto& [id, r] : scores) {
      engine::ScoreResult res;
      res.id = id;
      res.choices.resize(r.continuations.size());
      r.on_done(std::move(res));
    }
  }
  size_t held() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gens_.size() + scores_.size();
  }
  std::vector<std::string> prompts() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& g : gens_) out.push_back(detokenize(g.second.prompt));
    return out;
  }
  std::vector<engine::RequestId> cancels() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancels_;
  }

 private:
  mutable std::mutex mu_;
  engine::RequestId next_ = 1;
  std::vector<std::pair<engine::RequestId, engine::GenerateRequest>> gens_;
  std::vector<std::pair<engine::RequestId, engine::ScoreRequest>> scores_;
  std::vector<engine::RequestId> cancels_;
};

class OtherVocabClient : public HoldClient {
 public:
  std::vector<int32_t> tokenize(std::string_view t, bool s) const override {
    auto v = HoldClient::tokenize(t, s);
    if (!v.empty()) v[0] += 1;
    return v;
  }
};

// A backend that can die, as a remote one does: holds requests until finish(); die() streams
// `partial` to each held gen, then hands every held request back through on_down, and fails
// probes, tokenize and new requests until revive().
class FlakyClient : public interp::ModelClient, public remote::FailoverBackend {
 public:
  explicit FlakyClient(std::string name, bool ready = true, int vocab_shift = 0)
      : name_(std::move(name)), ready_(ready), alive_(ready), shift_(vocab_shift) {}

  engine::RequestId generate(engine::GenerateRequest r) override {
    return generate_or_down(std::move(r), nullptr);
  }
  engine::RequestId score(engine::ScoreRequest r) override {
    return score_or_down(std::move(r), nullptr);
  }
  engine::RequestId generate_or_down(engine::GenerateRequest r, OnDown down) override {
    std::unique_lock<std::mutex> lock(mu_);
    engine::RequestId id = next_++;
    ++submitted_;
    if (!alive_) {  // refused at once, as a closed port is
      lock.unlock();
      down(remote::BackendFailure{name_ + ": connection refused", false});
      return id;
    }
    gens_.push_back({id, std::move(r), std::move(down)});
    return id;
  }
  engine::RequestId score_or_down(engine::ScoreRequest r, OnDown down) override {
    std::unique_lock<std::mutex> lock(mu_);
    engine::RequestId id = next_++;
    ++submitted_;
    if (!alive_) {
      lock.unlock();
      down(remote::BackendFailure{name_ + ": connection refused", false});
      return id;
    }
    scores_.push_back({id, std::move(r), std::move(down)});
    return id;
  }
  bool probe(std::string& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++probes_;
    if (!alive_) {
      why = name_ + ": connection refused";
      return false;
    }
    ready_ = true;
    return true;
  }
  bool ready() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return ready_;
  }
  void cancel(engine::RequestId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
  }
  std::vector<int32_t> tokenize(std::string_view t, bool) const override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!alive_) throw remote::BackendDown(name_ + ": connection refused");
    }
    auto v = toks(std::string(t));
    if (!v.empty()) v[0] += shift_;
    return v;
  }
  std::string detokenize(const std::vector<int32_t>& v) const override {
    return std::string(v.begin(), v.end());
  }
  int32_t bos_id() const override { return -1; }
  bool add_bos() const override { return false; }
  std::string chat_template() const override { return ""; }
  std::string name() const override { return name_; }

  // Completes every held request: gens stream and return `reply` (Cancelled when cancelled).
  void finish(const std::string& reply) {
    std::vector<Held<engine::GenerateRequest>> gens;
    std::vector<Held<engine::ScoreRequest>> scores;
    std::vector<engine::RequestId> cancels;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gens.swap(gens_);
      scores.swap(scores_);
      cancels = cancels_;
    }
    for (auto& g : gens) {
      engine::GenerateResult res;
      if (std::find(cancels.begin(), cancels.end(), g.id) != cancels.end()) {
        res.finish = engine::FinishReason::Cancelled;
      } else {
        if (g.req.on_text) g.req.on_text(reply);
        res.text = reply;
        res.tokens = toks(reply);
        res.finish = engine::FinishReason::Eos;
      }
      g.req.on_done(std::move(res));
    }
    for (auto& sc : scores) {
      engine::ScoreResult res;
      res.choices.resize(sc.req.continuations.size());
      sc.req.on_done(std::move(res));
    }
  }
  void die(const std::string& partial = "") {
    std::vector<Held<engine::GenerateRequest>> gens;
    std::vector<Held<engine::ScoreRequest>> scores;
    {
      std::lock_guard<std::mutex> lock(mu_);
      alive_ = false;
      gens.swap(gens_);
      scores.swap(scores_);
    }
    for (auto& g : gens) {
      if (!partial.empty() && g.req.on_text) g.req.on_text(partial);
      g.down(remote::BackendFailure{name_ + ": connection reset", false});
    }
    for (auto& sc : scores) sc.down(remote::BackendFailure{name_ + ": connection reset", false});
  }
  void revive() {
    std::lock_guard<std::mutex> lock(mu_);
    alive_ = true;
  }
  size_t held() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gens_.size() + scores_.size();
  }
  int submitted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  int probes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return probes_;
  }

 private:
  template <class R>
  struct Held {
    engine::RequestId id;
    R req;
    OnDown down;
  };
  std::string name_;
  mutable std::mutex mu_;
  bool ready_, alive_;
  int shift_;
  engine::RequestId next_ = 1;
  int submitted_ = 0, probes_ = 0;
  std::vector<Held<engine::GenerateRequest>> gens_;
  std::vector<Held<engine::ScoreRequest>> scores_;
  std::vector<engine::RequestId> cancels_;
};

// Waits (up to 10 s) for pred; false on timeout.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Collects a generate's streamed text and result.
struct GenProbe {
  std::mutex mu;
  std::string streamed;
  std::optional<engine::GenerateResult> result;
  engine::GenerateRequest request(const std::string& prompt, bool stream = true) {
    engine::GenerateRequest g;
    g.prompt = toks(prompt);
    if (stream)
      g.on_text = [this](const std::string& d) {
        std::lock_guard<std::mutex> lock(mu);
        streamed += d;
      };
    g.on_done = [this](engine::GenerateResult r) {
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(r);
    };
    return g;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu);
    return result.has_value();
  }
};

remote::RoutingOptions fast_retry() {
  remote::RoutingOptions o;
  o.retry_initial_s = 0.02;
  o.retry_max_s = 0.1;
  return o;
}

// Two flaky backends and one streaming request on one of them (home).
struct OneRequest {
  std::shared_ptr<FlakyClient> f0 = std::make_shared<FlakyClient>("b0"),
                               f1 = std::make_shared<FlakyClient>("b1");
  remote::RoutingModelClient rc{{f0, f1}, fast_retry()};
  GenProbe p;
  engine::RequestId id = 0;
  OneRequest() {
    rc.set_log([](const std::string&) {});
    id = rc.generate(p.request("The capital of France is"));
  }
  FlakyClient& home() { return f0->held() ? *f0 : *f1; }
  FlakyClient& other() { return f0->held() ? *f1 : *f0; }
};

}  // namespace

TEST_CASE("PrefixRecord: block-aligned longest prefix, bounded") {
  remote::PrefixRecord r(4, 64);
  r.insert(toks("abcdefghij"));
  CHECK(r.match(toks("abcdefghij")) == 8);  // the partial last block is not recorded
  CHECK(r.match(toks("abcdefgXYZ")) == 4);
  CHECK(r.match(toks("abcXefghij")) == 0);
  CHECK(r.match(toks("abc")) == 0);
  for (int i = 0; i < 100; ++i) r.insert(toks("prompt number " + std::to_string(i) + " padding"));
  CHECK(r.blocks() <= 64);
  // The most recent insert survives eviction.
  CHECK(r.match(toks("prompt number 99 padding")) == 24);
}

TEST_CASE("router: unrelated prompts spread, a follow-up returns to its backend") {
  CacheAwareRouter r(2);
  auto a = toks("System: you are a helpful assistant.\nUser: question A");
  auto b = toks("Translate to French: the cat sat on the mat");
  size_t ba = r.route(a), bb = r.route(b);
  CHECK(ba != bb);  // both idle at first; the second goes to the other, less loaded one
  r.finished(ba, a);
  r.finished(bb, b);
  // The next turn of A's conversation: prompt + output + new text.
  auto a2 = a;
  for (int32_t t : toks(" answer A\nUser: another question")) a2.push_back(t);
  for (int i = 0; i < 3; ++i) {
    CHECK(r.route(a2) == ba);
    r.finished(ba, a2);
  }
  auto b2 = b;
  for (int32_t t : toks(" Le chat")) b2.push_back(t);
  CHECK(r.route(b2) == bb);
}

TEST_CASE("router: a small shared share of the prompt does not pin it") {
  CacheAwareRouter r(2);
  auto long_a = toks("Q: short shared start, then a long and entirely different body of text A");
  size_t first = r.route(long_a);
  // Busy first backend; a prompt sharing only its first block with A goes to the idle one.
  auto other = toks("Q: sXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  CHECK(r.match(first, other) == 4);
  CHECK(r.route(other) != first);
}

TEST_CASE("router: load balance overrides the prefix when one backend is swamped") {
  remote::RoutingOptions o;
  o.balance_abs = 8;
  o.balance_rel = 2.0;
  CacheAwareRouter r(2, o);
  auto p = toks("A long shared few-shot prompt that every request of this batch starts with.");
  size_t home = r.route(p);
  for (int i = 1; i < 9; ++i) CHECK(r.route(p) == home);  // 9 in flight there, 0 elsewhere
  CHECK(r.in_flight(home) == 9);
  size_t away = r.route(p);  // 9 - 0 > 8 and 9 > 2 * 0: too uneven
  CHECK(away != home);
  // Finishing work on the home backend makes it eligible again.
  for (int i = 0; i < 9; ++i) r.finished(home, {});
  r.finished(away, {});
  CHECK(r.in_flight(home) == 0);
  size_t next = r.route(p);
  CHECK(r.match(next, p) > 0);
}

TEST_CASE("RoutingModelClient: routes, maps ids, forwards cancels, counts once") {
  auto h0 = std::make_shared<HoldClient>(), h1 = std::make_shared<HoldClient>();
  remote::RoutingModelClient rc({h0, h1});
  std::atomic<int> done{0};
  std::vector<engine::GenerateResult> results(3);
  auto submit = [&](const std::string& prompt, int slot) {
    engine::GenerateRequest g;
    g.prompt = toks(prompt);
    g.on_done = [&, slot](engine::GenerateResult r) {
      results[slot] = std::move(r);
      ++done;
    };
    return rc.generate(std::move(g));
  };
  auto i0 = submit("first conversation, long enough to be recorded", 0);
  auto i1 = submit("a second, unrelated conversation entirely", 1);
  CHECK(i0 != i1);
  CHECK(h0->held() == 1);
  CHECK(h1->held() == 1);
  auto i2 = submit("a second, unrelated conversation entirely, and more", 2);
  // The extension of the second prompt follows it, although h1 is now the busier one.
  CHECK(h1->held() == 2);
  rc.cancel(i2);
  REQUIRE(h1->cancels().size() == 1);
  h0->release();
  h1->release();
  CHECK(done == 3);
  CHECK(results[0].id == i0);
  CHECK(results[0].text == " ok");
  CHECK(results[2].finish == engine::FinishReason::Cancelled);
  CHECK(rc.routed() == std::vector<uint64_t>{1, 2});
  rc.cancel(i0);  // finished: ignored
  CHECK(h0->cancels().empty());
}

TEST_CASE("RoutingModelClient refuses backends that tokenize differently") {
  auto h0 = std::make_shared<HoldClient>();
  auto h1 = std::make_shared<OtherVocabClient>();
  try {
    remote::RoutingModelClient rc({h0, h1});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("same tokenizer") != std::string::npos);
  }
}

namespace {

std::shared_ptr<const graph::Program> compile(const std::string& src) {
  compiler::CompileOptions co;
  co.require_main = true;
  auto r = compiler::compile_source("t.sgp", src, co);
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  return std::make_shared<const graph::Program>(std::move(r.program));
}

}  // namespace

TEST_CASE("programs through the router: a program's requests stay together") {
  auto f0 = std::make_shared<test::FakeModelClient>(),
       f1 = std::make_shared<test::FakeModelClient>();
  auto rc = std::make_shared<remote::RoutingModelClient>(
      std::vector<std::shared_ptr<interp::ModelClient>>{f0, f1});
  // Two programs at once, each with three dependent gens on one state, plus a select.
  auto prog = compile(R"(
fn main(topic) {
  "Let us talk about {topic} for a while, at some length.\n"
  gen a(max_tokens: 8)
  "\nMore:"
  gen b(max_tokens: 8)
  "\nAnd:"
  gen c(max_tokens: 8)
  select d from [" yes", " no"]
  return [a, b, c, d]
}
)");
  interp::asio::io_context io;
  interp::Interpreter in(io.get_executor(), rc, prog);
  std::vector<std::string> errors;
  for (const char* topic : {"rivers", "mountains"}) {
    interp::Map args;
    args["topic"] = interp::Value(std::string(topic));
    interp::asio::co_spawn(io, in.run_main(args, {}), [&](std::exception_ptr e, interp::Value) {
      if (e) errors.push_back("failed");
    });
  }
  io.run();
  CHECK(errors.empty());
  // Each program's 4 requests went to one backend, and the two programs to different ones.
  auto s0 = f0->seen(), s1 = f1->seen();
  REQUIRE(s0.size() == 4);
  REQUIRE(s1.size() == 4);
  for (const auto& s : s0) CHECK(s.prompt.find(s0[0].prompt.substr(0, 40)) == 0);
  for (const auto& s : s1) CHECK(s.prompt.find(s1[0].prompt.substr(0, 40)) == 0);
  CHECK(s0[0].prompt != s1[0].prompt);
}

TEST_CASE(
    "failover: requests of a backend that dies go to the other; it comes back after a probe") {
  auto f0 = std::make_shared<FlakyClient>("b0"), f1 = std::make_shared<FlakyClient>("b1");
  remote::RoutingModelClient rc({f0, f1}, fast_retry());
  std::vector<std::string> log;
  std::mutex log_mu;
  rc.set_log([&](const std::string& l) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(l);
  });
  std::vector<std::unique_ptr<GenProbe>> probes;
  for (int i = 0; i < 4; ++i) {
    probes.push_back(std::make_unique<GenProbe>());
    rc.generate(probes.back()->request(std::string(1, static_cast<char>('a' + i)) +
                                       " conversation begins"));
  }
  CHECK(f0->held() == 2);
  CHECK(f1->held() == 2);
  f1->die();  // both of its requests had streamed nothing: they move to b0 unchanged
  CHECK(f0->held() == 4);
  CHECK(rc.healthy() == std::vector<bool>{true, false});
  // While b1 is down, new work goes to b0 only, however unbalanced that is.
  probes.push_back(std::make_unique<GenProbe>());
  rc.generate(probes.back()->request("a fifth, unrelated conversation"));
  CHECK(f0->held() == 5);
  CHECK(f1->submitted() == 2);
  f0->finish(" ok");
  for (auto& p : probes) {
    REQUIRE(p->done());
    CHECK(p->result->finish == engine::FinishReason::Eos);
    CHECK(p->result->text == " ok");
    CHECK(p->streamed == " ok");
  }
  // Probes keep failing while it is down (with growing waits), then find it up.
  CHECK(eventually([&]() -> bool { return f1->probes() >= 2; }));
  CHECK(rc.healthy()[1] == false);
  f1->revive();
  REQUIRE(eventually([&]() -> bool { return rc.healthy()[1]; }));
  GenProbe a, b;
  rc.generate(a.request("one more unrelated prompt here"));
  rc.generate(b.request("and yet another different one"));
  CHECK(f1->held() >= 1);
  f0->finish(" x");
  f1->finish(" x");
  CHECK(a.done());
  CHECK(b.done());
  std::lock_guard<std::mutex> lock(log_mu);
  REQUIRE(log.size() == 2);
  CHECK(log[0].find("b1 is down") != std::string::npos);
  CHECK(log[0].find("connection reset") != std::string::npos);
  CHECK(log[1].find("b1 is up again") != std::string::npos);
}

TEST_CASE(
    "failover: a generation that already streamed restarts elsewhere, shown text not repeated") {
  OneRequest t;
  GenProbe& p = t.p;
  FlakyClient &home = t.home(), &other = t.other();
  home.die(" Par");
  CHECK(p.streamed == " Par");
  REQUIRE(other.held() == 1);
  other.finish(" Paris.");
  REQUIRE(p.done());
  CHECK(p.result->finish == engine::FinishReason::Eos);
  CHECK(p.result->text == " Paris.");
  CHECK(p.streamed == " Paris.");  // " Par" once, then "is."
}

TEST_CASE("failover: a restart that disagrees with the text already shown fails clearly") {
  OneRequest t;
  GenProbe& p = t.p;
  FlakyClient &home = t.home(), &other = t.other();
  home.die(" Lon");
  other.finish(" Paris.");
  REQUIRE(p.done());
  CHECK(p.result->finish == engine::FinishReason::Error);
  CHECK(p.result->error.find("different text") != std::string::npos);
  CHECK(p.result->error.find("connection reset") != std::string::npos);
  CHECK(p.streamed == " Lon");  // nothing of the disagreeing restart was shown
}

TEST_CASE("failover: when every backend fails a request, it fails naming each failure") {
  auto f0 = std::make_shared<FlakyClient>("b0"), f1 = std::make_shared<FlakyClient>("b1");
  remote::RoutingModelClient rc({f0, f1}, fast_retry());
  rc.set_log([](const std::string&) {});
  GenProbe p;
  rc.generate(p.request("some prompt text", false));
  engine::ScoreRequest sr;
  sr.prefix = toks("Answer:");
  sr.continuations = {toks(" yes"), toks(" no")};
  std::optional<engine::ScoreResult> scored;
  sr.on_done = [&](engine::ScoreResult r) { scored = std::move(r); };
  rc.score(std::move(sr));
  f0->die();
  f1->die();
  REQUIRE(p.done());
  CHECK(p.result->finish == engine::FinishReason::Error);
  CHECK(p.result->error.find("b0: connection") != std::string::npos);
  CHECK(p.result->error.find("b1: connection") != std::string::npos);
  REQUIRE(scored.has_value());
  CHECK(scored->error.find("no backend could run") != std::string::npos);
  CHECK(rc.healthy() == std::vector<bool>{false, false});
  // With both down, a new request still tries them (one may be back before its probe says so).
  f1->revive();
  GenProbe q;
  rc.generate(q.request("after the outage", false));
  f1->finish(" back");
  REQUIRE(q.done());
  CHECK(q.result->text == " back");
}

TEST_CASE("failover: a cancelled request is not moved to another backend") {
  OneRequest t;
  GenProbe& p = t.p;
  FlakyClient &home = t.home(), &other = t.other();
  t.rc.cancel(t.id);
  home.die();
  REQUIRE(p.done());
  CHECK(p.result->finish == engine::FinishReason::Cancelled);
  CHECK(other.submitted() == 0);
}

TEST_CASE("failover: tokenizer questions move off a dead backend") {
  auto f0 = std::make_shared<FlakyClient>("b0"), f1 = std::make_shared<FlakyClient>("b1");
  remote::RoutingModelClient rc({f0, f1}, fast_retry());
  rc.set_log([](const std::string&) {});
  f0->die();
  CHECK(rc.tokenize("hello", false) == toks("hello"));
  CHECK(rc.healthy() == std::vector<bool>{false, true});
  f1->die();
  CHECK_THROWS_AS(rc.tokenize("hello", false), Error);
}

TEST_CASE("failover: a backend down at start joins when it comes up, unless its model differs") {
  auto f0 = std::make_shared<FlakyClient>("b0");
  auto late = std::make_shared<FlakyClient>("late", /*ready=*/false);
  auto wrong = std::make_shared<FlakyClient>("wrong", /*ready=*/false, /*vocab_shift=*/1);
  remote::RoutingModelClient rc({f0, late, wrong}, fast_retry());
  std::vector<std::string> log;
  std::mutex log_mu;
  rc.set_log([&](const std::string& l) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(l);
  });
  CHECK(rc.healthy() == std::vector<bool>{true, false, false});
  late->revive();
  wrong->revive();
  REQUIRE(eventually([&]() -> bool { return rc.healthy()[1]; }));
  REQUIRE(eventually([&]() -> bool {
    std::lock_guard<std::mutex> lock(log_mu);
    return log.size() == 2;
  }));
  CHECK(rc.healthy() == std::vector<bool>{true, true, false});
  std::vector<std::unique_ptr<GenProbe>> probes;
  for (int i = 0; i < 6; ++i) {
    probes.push_back(std::make_unique<GenProbe>());
    rc.generate(probes.back()->request("prompt " + std::to_string(i) + " with its words", false));
  }
  CHECK(wrong->submitted() == 0);
  CHECK(late->held() > 0);
  f0->finish("");
  late->finish("");
  for (auto& p : probes) CHECK(p->done());
  std::lock_guard<std::mutex> lock(log_mu);
  bool refused = false;
  for (const auto& l : log)
    refused |=
        l.find("wrong") != std::string::npos && l.find("same tokenizer") != std::string::npos;
  CHECK(refused);
}
