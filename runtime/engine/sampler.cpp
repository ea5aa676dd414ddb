// Sampler: one request's token choice from a logits row — penalties, masks, temperature,
// top-k/top-p/min-p, its own seeded RNG, and top-n logprobs.
#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sgp::engine {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool bit(const std::vector<uint64_t>& mask, int32_t t) {
  size_t w = static_cast<size_t>(t) / 64;
  return w < mask.size() && ((mask[w] >> (static_cast<size_t>(t) % 64)) & 1u);
}

// One listed token's penalized logit. The product is kept apart from the sums (volatile) so
// that no compiler fuses it into an fma: the device computes the same three roundings.
float penalized(float v, const model::TokenCount& e, const model::RowSample& s) {
  const float rep = s.repetition_penalty;
  if (rep != 1.0f && rep > 0.0f) v = v > 0 ? v / rep : v * rep;
  if (e.count > 0 && (s.frequency_penalty != 0.0f || s.presence_penalty != 0.0f)) {
    volatile float f = s.frequency_penalty * static_cast<float>(e.count);
    const float d = f + s.presence_penalty;
    v = v - d;
  }
  return v;
}
}  // namespace

void log_softmax(std::span<const float> logits, std::vector<float>& out) {
  out.resize(logits.size());
  float mx = kNegInf;
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  double lse = mx + std::log(sum);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(logits[i] - lse);
}

Sampler::Sampler(const SamplingParams& params, uint64_t seed, std::span<const int32_t> prompt)
    : params_(params), rng_(seed) {
  // Only the penalties read the history: without them, keep none (a list per request and an
  // insert per token are a real share of the engine's host time in large batches).
  const bool rep = params.repetition_penalty != 1.0f && params.repetition_penalty > 0.0f;
  if (rep) {
    for (int32_t t : prompt) history_.push_back({t, 0});
    std::sort(history_.begin(), history_.end(),
              [](const auto& a, const auto& b) { return a.token < b.token; });
    history_.erase(std::unique(history_.begin(), history_.end(),
                               [](const auto& a, const auto& b) { return a.token == b.token; }),
                   history_.end());
  }
  track_output_ = rep || params.frequency_penalty != 0.0f || params.presence_penalty != 0.0f;
}

void Sampler::accept(int32_t token) {
  if (!track_output_) return;
  auto it = std::lower_bound(history_.begin(), history_.end(), token,
                             [](const model::TokenCount& e, int32_t t) { return e.token < t; });
  if (it != history_.end() && it->token == token)
    ++it->count;
  else
    history_.insert(it, {token, 1});
}

// 53 random bits: the same sequence of draws on every platform (unlike std distributions).
double Sampler::uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

model::RowSample Sampler::device_draw() {
  model::RowSample r;
  r.temperature = params_.temperature;
  r.top_k = params_.top_k;
  r.top_p = params_.top_p;
  r.min_p = params_.min_p;
  if (params_.temperature > 0.0f) r.u = uniform();
  if (track_output_) {
    r.repetition_penalty = params_.repetition_penalty;
    r.frequency_penalty = params_.frequency_penalty;
    r.presence_penalty = params_.presence_penalty;
    r.penalized = history_;
  }
  r.logprobs = params_.logprobs;
  return r;
}

int32_t Sampler::sample(std::span<const float> logits, const TokenMask& mask,
                        TokenLogprob* logprob) {
  model::RowSample r = device_draw();
  if (mask.allowed) {
    r.allowed = *mask.allowed;
    // An empty list still masks everything (RowSample reads empty as "no mask").
    if (r.allowed.empty()) r.allowed.push_back(0);
    r.also_allowed.assign(mask.also_allowed.begin(), mask.also_allowed.end());
  }
  r.banned.assign(mask.banned.begin(), mask.banned.end());
  return sample_row(logits, r, logprob, &work_);
}

int32_t sample_row(std::span<const float> logits, const model::RowSample& s, TokenLogprob* logprob,
                   std::vector<float>* work_buf) {
  const size_t n = logits.size();
  std::vector<float> local;
  std::vector<float>& work = work_buf ? *work_buf : local;
  work.assign(logits.begin(), logits.end());
  for (const model::TokenCount& e : s.penalized)
    if (e.token >= 0 && static_cast<size_t>(e.token) < n)
      work[static_cast<size_t>(e.token)] = penalized(logits[static_cast<size_t>(e.token)], e, s);
  if (!s.allowed.empty()) {
    for (size_t t = 0; t < n; ++t)
      if (!bit(s.allowed, static_cast<int32_t>(t))) work[t] = kNegInf;
    for (int32_t t : s.also_allowed)
      if (t >= 0 && static_cast<size_t>(t) < n) work[static_cast<size_t>(t)] = logits[t];
  }
  for (int32_t t : s.banned)
    if (t >= 0 && static_cast<size_t>(t) < n) work[static_cast<size_t>(t)] = kNegInf;

  int32_t chosen = -1;
  if (s.temperature <= 0.0f) {
    float best = kNegInf;
    for (size_t t = 0; t < n; ++t)
      if (work[t] > best) best = work[t], chosen = static_cast<int32_t>(t);
  } else {
    std::vector<int32_t> cand;
    float mx = kNegInf;
    for (size_t t = 0; t < n; ++t)
      if (work[t] != kNegInf) {
        cand.push_back(static_cast<int32_t>(t));
        mx = std::max(mx, work[t]);
      }
    if (!cand.empty()) {
      const double inv_t = 1.0 / s.temperature;
      // The one order of top-k, top-p and the walk after them: a total order, so that every
      // implementation (the device's too) keeps and walks the same tokens.
      auto by_logit = [&](int32_t a, int32_t b) {
        return work[a] > work[b] || (work[a] == work[b] && a < b);
      };
      bool sorted = false;
      if (s.top_k > 0 && static_cast<size_t>(s.top_k) < cand.size()) {
        std::partial_sort(cand.begin(), cand.begin() + s.top_k, cand.end(), by_logit);
        cand.resize(static_cast<size_t>(s.top_k));
        sorted = true;
      }
      std::vector<double> p(cand.size());
      for (size_t i = 0; i < cand.size(); ++i) p[i] = std::exp((work[cand[i]] - mx) * inv_t);
      // Relative to the most likely token, which has weight exp(0) = 1 (so a min_p above 1
      // keeps the maxima, like 1).
      const float min_p = std::min(s.min_p, 1.0f);
      if (min_p > 0.0f) {
        size_t k = 0;
        for (size_t i = 0; i < cand.size(); ++i)
          if (p[i] >= min_p) cand[k] = cand[i], p[k++] = p[i];
        cand.resize(k);
        p.resize(k);
      }
      if (s.top_p < 1.0f) {
        if (!sorted) {
          std::vector<size_t> order(cand.size());
          std::iota(order.begin(), order.end(), size_t{0});
          std::sort(order.begin(), order.end(),
                    [&](size_t a, size_t b) { return by_logit(cand[a], cand[b]); });
          std::vector<int32_t> c2(cand.size());
          std::vector<double> p2(cand.size());
          for (size_t i = 0; i < order.size(); ++i) c2[i] = cand[order[i]], p2[i] = p[order[i]];
          cand.swap(c2);
          p.swap(p2);
        }
        const double sum = std::accumulate(p.begin(), p.end(), 0.0);
        double acc = 0.0;
        size_t keep = 0;
        while (keep < cand.size()) {
          acc += p[keep++];
          if (acc >= s.top_p * sum) break;
        }
        cand.resize(keep);
        p.resize(keep);
      }
      const double sum = std::accumulate(p.begin(), p.end(), 0.0);
      double r = s.u * sum;
      chosen = cand.back();
      for (size_t i = 0; i < cand.size(); ++i) {
        if (r < p[i]) {
          chosen = cand[i];
          break;
        }
        r -= p[i];
      }
    }
  }

  if (logprob && chosen >= 0) {
    std::vector<float> lp;
    log_softmax(logits, lp);
    logprob->token = chosen;
    logprob->logprob = lp[static_cast<size_t>(chosen)];
    logprob->top.clear();
    if (s.logprobs > 0) {
      // Best first by the raw logit (the log-probabilities' order), ties by id.
      size_t k = std::min(n, static_cast<size_t>(s.logprobs));
      std::vector<int32_t> idx(n);
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
      });
      for (size_t i = 0; i < k; ++i) logprob->top.emplace_back(idx[i], lp[idx[i]]);
    }
  }
  return chosen;
}

}  // namespace sgp::engine
