// Prometheus text rendering of the server metrics.
#include "server/metrics.h"

#include <cstdio>
#include <cstdlib>

namespace sgp::server {

namespace {

std::string num(double v) {
  // The shortest form that reads back as the same double (0.025, not 0.025000000000000001).
  char buf[64];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void metric(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, double v) {
  out += name + " " + num(v) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  std::string sep = labels.empty() ? "" : labels + ",";
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out +=
        name + "_bucket{" + sep + "le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{" + sep + "le=\"+Inf\"} " + std::to_string(cum) + "\n";
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + num(sum_) + "\n";
  out += name + "_count" + l + " " + std::to_string(count_) + "\n";
}

void Metrics::request_done(const std::string& endpoint, int status, double seconds) {
  ++requests_[{endpoint, status}];
  auto it = latency_.find(endpoint);
  if (it == latency_.end())
    it = latency_
             .emplace(endpoint, Histogram({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                           30, 60, 120}))
             .first;
  it->second.observe(seconds);
}

void Metrics::tokens(int prompt, int cached, int completion) {
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  cached_tokens_ += static_cast<uint64_t>(cached);
  completion_tokens_ += static_cast<uint64_t>(completion);
}

std::string Metrics::render(const engine::EngineStats& s) const {
  std::string o;
  metric(o, "sgp_http_requests_total", "counter", "HTTP requests answered, by endpoint and status");
  for (const auto& [key, n] : requests_)
    o += "sgp_http_requests_total{endpoint=\"" + key.first + "\",status=\"" +
         std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  metric(o, "sgp_http_request_duration_seconds", "histogram", "HTTP request latency");
  for (const auto& [ep, h] : latency_)
    h.write(o, "sgp_http_request_duration_seconds", "endpoint=\"" + ep + "\"");
  metric(o, "sgp_time_to_first_token_seconds", "histogram",
         "from submission to the first generated text");
  ttft_.write(o, "sgp_time_to_first_token_seconds", "");
  metric(o, "sgp_prompt_tokens_total", "counter", "prompt tokens of finished generations");
  sample(o, "sgp_prompt_tokens_total", static_cast<double>(prompt_tokens_));
  metric(o, "sgp_cached_prompt_tokens_total", "counter",
         "prompt tokens served from the radix cache");
  sample(o, "sgp_cached_prompt_tokens_total", static_cast<double>(cached_tokens_));
  metric(o, "sgp_generation_tokens_total", "counter", "generated tokens");
  sample(o, "sgp_generation_tokens_total", static_cast<double>(completion_tokens_));
  metric(o, "sgp_cache_hit_rate", "gauge", "cached prompt tokens / prompt tokens, since start");
  sample(o, "sgp_cache_hit_rate",
         prompt_tokens_ ? static_cast<double>(cached_tokens_) / static_cast<double>(prompt_tokens_)
                        : 0.0);
  metric(o, "sgp_requests_waiting", "gauge", "generations queued, no output yet");
  sample(o, "sgp_requests_waiting", gen_waiting);
  metric(o, "sgp_requests_running", "gauge", "generations producing output");
  sample(o, "sgp_requests_running", gen_running);
  metric(o, "sgp_http_requests_in_flight", "gauge", "HTTP requests being handled");
  sample(o, "sgp_http_requests_in_flight", in_flight);
  metric(o, "sgp_http_connections", "gauge", "open HTTP connections");
  sample(o, "sgp_http_connections", connections);
  metric(o, "sgp_rejected_busy_total", "counter", "requests refused with 429");
  sample(o, "sgp_rejected_busy_total", static_cast<double>(rejected_busy));
  metric(o, "sgp_generations_cancelled_total", "counter",
         "generations cancelled by disconnect, timeout or shutdown");
  sample(o, "sgp_generations_cancelled_total", static_cast<double>(cancelled));
  metric(o, "sgp_kv_pages_total", "gauge", "KV cache pages");
  sample(o, "sgp_kv_pages_total", s.pages_total);
  metric(o, "sgp_kv_pages_used", "gauge", "KV pages referenced by running requests or locked");
  sample(o, "sgp_kv_pages_used", s.pages_in_use);
  metric(o, "sgp_kv_pages_free", "gauge", "KV pages free or held by evictable cache entries");
  sample(o, "sgp_kv_pages_free", s.pages_free);
  metric(o, "sgp_engine_steps_total", "counter", "model forward passes");
  sample(o, "sgp_engine_steps_total", static_cast<double>(s.steps));
  metric(o, "sgp_engine_forward_tokens_total", "counter", "tokens run through the model");
  sample(o, "sgp_engine_forward_tokens_total", static_cast<double>(s.forward_tokens));
  metric(o, "sgp_engine_preemptions_total", "counter", "sequences preempted for KV space");
  sample(o, "sgp_engine_preemptions_total", static_cast<double>(s.preemptions));
  metric(o, "sgp_engine_requests_done_total", "counter", "engine requests finished");
  sample(o, "sgp_engine_requests_done_total", static_cast<double>(s.requests_done));
  return o;
}

}  // namespace sgp::server
