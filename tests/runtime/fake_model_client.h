// FakeModelClient: a scripted ModelClient for interpreter tests (byte tokens, chosen replies).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "interp/model_client.h"

namespace sgp::test {

// Tokens are bytes (id = byte value). Requests complete on a worker thread, like the engine's:
// the worker takes everything pending at once (one "step"), waiting up to 200 ms for
// `batch_hint` requests to gather, and records the largest batch it saw.
class FakeModelClient : public interp::ModelClient {
 public:
  FakeModelClient();
  ~FakeModelClient() override;

  // Reply text for a gen given the prompt text (then max_tokens and stop strings apply).
  std::function<std::string(const std::string& prompt)> reply = [](const std::string&) {
    return std::string(" ok");
  };
  // Total log-probability of `choice` after `prompt` (spread evenly over its tokens).
  std::function<float(const std::string& prompt, const std::string& choice)> logprob =
      [](const std::string&, const std::string& c) { return -static_cast<float>(c.size()); };
  size_t batch_hint = 1;

  struct Seen {
    std::string kind;  // "gen" or "score"
    std::string prompt;
    engine::SamplingParams sampling;
    std::vector<std::string> choices;
  };
  std::vector<Seen> seen() const;
  size_t max_batch() const;

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  void cancel(engine::RequestId id) override;
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override { return -1; }
  bool add_bos() const override { return false; }
  std::string chat_template() const override { return "{{ '<|im_start|>' }}"; }
  std::string name() const override { return "fake"; }

 private:
  struct Job {
    engine::RequestId id;
    std::function<void()> run;
  };
  void loop();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<Seen> seen_;
  size_t max_batch_ = 0;
  engine::RequestId next_id_ = 1;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace sgp::test
