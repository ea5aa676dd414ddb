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
  // Only the penalties read the history: without them, keep none (a hash set per request and
  // an insert per token are a real share of the engine's host time in large batches).
  const bool rep = params.repetition_penalty != 1.0f && params.repetition_penalty > 0.0f;
  if (rep) prompt_tokens_.insert(prompt.begin(), prompt.end());
  track_output_ = rep || params.frequency_penalty != 0.0f || params.presence_penalty != 0.0f;
}

void Sampler::accept(int32_t token) {
  if (track_output_) ++output_counts_[token];
}

// 53 random bits: the same sequence of draws on every platform (unlike std distributions).
double Sampler::uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

bool Sampler::device_eligible() const {
  const SamplingParams& p = params_;
  const bool greedy = p.temperature <= 0.0f || p.top_k == 1;
  return p.logprobs == 0 && p.repetition_penalty == 1.0f && p.frequency_penalty == 0.0f &&
         p.presence_penalty == 0.0f && (greedy || (p.top_k == 0 && p.top_p >= 1.0f));
}

model::RowSample Sampler::device_draw() {
  model::RowSample r;
  // top_k == 1 is greedy on the host too (one candidate), but still consumes a draw there.
  r.temperature = params_.top_k == 1 ? 0.0f : params_.temperature;
  r.min_p = params_.min_p;
  if (params_.temperature > 0.0f) r.u = uniform();
  return r;
}

int32_t sample_row(std::span<const float> logits, const model::RowSample& draw) {
  const size_t n = logits.size();
  int32_t chosen = -1;
  float mx = kNegInf;
  for (size_t t = 0; t < n; ++t)
    if (logits[t] > mx) mx = logits[t], chosen = static_cast<int32_t>(t);
  if (draw.temperature <= 0.0f || chosen < 0) return chosen;
  const double inv_t = 1.0 / draw.temperature;
  std::vector<double> p(n);
  double sum = 0.0;
  for (size_t t = 0; t < n; ++t) sum += p[t] = std::exp((logits[t] - mx) * inv_t);
  if (draw.min_p > 0.0f) {
    sum = 0.0;
    for (size_t t = 0; t < n; ++t) {
      if (p[t] < draw.min_p) p[t] = 0.0;
      sum += p[t];
    }
  }
  double r = draw.u * sum;
  int32_t last = -1;
  for (size_t t = 0; t < n; ++t) {
    // The host's candidates: every finite logit, or those min_p kept (underflowed ones too).
    const bool candidate = draw.min_p > 0.0f ? p[t] > 0.0 : logits[t] != kNegInf;
    if (!candidate) continue;
    last = static_cast<int32_t>(t);
    if (r < p[t]) return last;
    r -= p[t];
  }
  return last;
}

void Sampler::apply_penalties(std::vector<float>& x) const {
  const float rep = params_.repetition_penalty;
  if (rep != 1.0f && rep > 0.0f) {
    auto penalize = [&](int32_t t) {
      if (t < 0 || static_cast<size_t>(t) >= x.size()) return;
      float& v = x[static_cast<size_t>(t)];
      v = v > 0 ? v / rep : v * rep;
    };
    std::unordered_set<int32_t> seen = prompt_tokens_;
    for (auto [t, n] : output_counts_) seen.insert(t);
    for (int32_t t : seen) penalize(t);
  }
  if (params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f) {
    for (auto [t, n] : output_counts_) {
      if (t < 0 || static_cast<size_t>(t) >= x.size()) continue;
      x[static_cast<size_t>(t)] -=
          params_.frequency_penalty * static_cast<float>(n) + params_.presence_penalty;
    }
  }
}

int32_t Sampler::sample(std::span<const float> logits, const TokenMask& mask,
                        TokenLogprob* logprob) {
  const size_t n = logits.size();
  work_.assign(logits.begin(), logits.end());
  apply_penalties(work_);
  if (mask.allowed) {
    for (size_t t = 0; t < n; ++t)
      if (!bit(*mask.allowed, static_cast<int32_t>(t))) work_[t] = kNegInf;
    for (int32_t t : mask.also_allowed)
      if (t >= 0 && static_cast<size_t>(t) < n) work_[static_cast<size_t>(t)] = logits[t];
  }
  for (int32_t t : mask.banned)
    if (t >= 0 && static_cast<size_t>(t) < n) work_[static_cast<size_t>(t)] = kNegInf;

  int32_t chosen = -1;
  if (params_.temperature <= 0.0f) {
    float best = kNegInf;
    for (size_t t = 0; t < n; ++t)
      if (work_[t] > best) best = work_[t], chosen = static_cast<int32_t>(t);
  } else {
    std::vector<int32_t> cand;
    cand.reserve(n);
    float mx = kNegInf;
    for (size_t t = 0; t < n; ++t)
      if (work_[t] != kNegInf) {
        cand.push_back(static_cast<int32_t>(t));
        mx = std::max(mx, work_[t]);
      }
    if (!cand.empty()) {
      const double inv_t = 1.0 / params_.temperature;
      auto by_logit = [&](int32_t a, int32_t b) {
        return work_[a] > work_[b] || (work_[a] == work_[b] && a < b);
      };
      if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < cand.size()) {
        std::nth_element(cand.begin(), cand.begin() + params_.top_k, cand.end(), by_logit);
        cand.resize(static_cast<size_t>(params_.top_k));
      }
      std::vector<double> p(cand.size());
      double sum = 0.0;
      for (size_t i = 0; i < cand.size(); ++i)
        sum += p[i] = std::exp((work_[cand[i]] - mx) * inv_t);
      if (params_.min_p > 0.0f) {
        // Relative to the most likely token, which has weight exp(0) = 1.
        size_t k = 0;
        for (size_t i = 0; i < cand.size(); ++i)
          if (p[i] >= params_.min_p) cand[k] = cand[i], p[k++] = p[i];
        cand.resize(k);
        p.resize(k);
        sum = std::accumulate(p.begin(), p.end(), 0.0);
      }
      if (params_.top_p < 1.0f) {
        std::vector<size_t> order(cand.size());
        std::iota(order.begin(), order.end(), size_t{0});
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          return p[a] > p[b] || (p[a] == p[b] && cand[a] < cand[b]);
        });
        double acc = 0.0;
        size_t keep = 0;
        while (keep < order.size()) {
          acc += p[order[keep++]];
          if (acc >= params_.top_p * sum) break;
        }
        std::vector<int32_t> c2(keep);
        std::vector<double> p2(keep);
        for (size_t i = 0; i < keep; ++i) c2[i] = cand[order[i]], p2[i] = p[order[i]];
        cand.swap(c2);
        p.swap(p2);
        sum = std::accumulate(p.begin(), p.end(), 0.0);
      }
      double r = uniform() * sum;
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
    if (params_.logprobs > 0) {
      size_t k = std::min(n, static_cast<size_t>(params_.logprobs));
      std::vector<int32_t> idx(n);
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        return lp[a] > lp[b] || (lp[a] == lp[b] && a < b);
      });
      for (size_t i = 0; i < k; ++i) logprob->top.emplace_back(idx[i], lp[idx[i]]);
    }
  }
  return chosen;
}

}  // namespace sgp::engine
