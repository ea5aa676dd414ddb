// FakeModelClient: scripted replies and scores, completed on a worker thread.
#include "fake_model_client.h"

#include <chrono>

namespace sgp::test {

FakeModelClient::FakeModelClient() : worker_([this] { loop(); }) {}

FakeModelClient::~FakeModelClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::vector<FakeModelClient::Seen> FakeModelClient::seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

size_t FakeModelClient::max_batch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_batch_;
}

void FakeModelClient::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_ && queue_.empty()) return;
    cv_.wait_for(lock, std::chrono::milliseconds(200),
                 [&] { return stop_ || queue_.size() >= batch_hint; });
    std::deque<Job> step;
    step.swap(queue_);
    max_batch_ = std::max(max_batch_, step.size());
    lock.unlock();
    for (auto& j : step) j.run();
    lock.lock();
  }
}

engine::RequestId FakeModelClient::generate(engine::GenerateRequest req) {
  std::string prompt = detokenize(req.prompt);
  std::lock_guard<std::mutex> lock(mu_);
  engine::RequestId id = next_id_++;
  seen_.push_back({"gen", prompt, req.sampling, {}});
  queue_.push_back({id, [this, id, prompt, req = std::move(req)]() mutable {
                      engine::GenerateResult r;
                      r.id = id;
                      std::string text = reply(prompt);
                      r.finish = engine::FinishReason::Eos;
                      if (static_cast<int>(text.size()) > req.sampling.max_tokens) {
                        text.resize(static_cast<size_t>(req.sampling.max_tokens));
                        r.finish = engine::FinishReason::Length;
                      }
                      for (const auto& s : req.sampling.stop) {
                        auto p = text.find(s);
                        if (!s.empty() && p != std::string::npos)
                          text.resize(p), r.finish = engine::FinishReason::Stop;
                      }
                      r.text = text;
                      r.tokens = tokenize(text, false);
                      r.prompt_tokens = static_cast<int>(req.prompt.size());
                      if (req.on_text && !text.empty()) req.on_text(text);
                      req.on_done(std::move(r));
                    }});
  cv_.notify_all();
  return id;
}

engine::RequestId FakeModelClient::score(engine::ScoreRequest req) {
  std::string prompt = detokenize(req.prefix);
  std::vector<std::string> choices;
  for (const auto& c : req.continuations) choices.push_back(detokenize(c));
  std::lock_guard<std::mutex> lock(mu_);
  engine::RequestId id = next_id_++;
  seen_.push_back({"score", prompt, {}, choices});
  queue_.push_back({id, [this, id, prompt, choices, req = std::move(req)]() mutable {
                      engine::ScoreResult r;
                      r.id = id;
                      for (const auto& c : choices) {
                        engine::ScoreResult::Choice ch;
                        ch.sum = logprob(prompt, c);
                        ch.token_logprobs.assign(c.size(), ch.sum / static_cast<float>(c.size()));
                        r.choices.push_back(ch);
                      }
                      req.on_done(std::move(r));
                    }});
  cv_.notify_all();
  return id;
}

void FakeModelClient::cancel(engine::RequestId) {}

std::vector<int32_t> FakeModelClient::tokenize(std::string_view text, bool) const {
  std::vector<int32_t> out;
  for (unsigned char c : text) out.push_back(c);
  return out;
}

std::string FakeModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  std::string out;
  for (int32_t t : tokens) out.push_back(static_cast<char>(t));
  return out;
}

}  // namespace sgp::test
