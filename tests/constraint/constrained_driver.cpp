// ConstrainedDriver: reachability + distance analysis, then seeded sampling from masks.
#include "constrained_driver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace sgp::constraint::testing {

namespace {

std::vector<int32_t> mask_tokens(const std::vector<uint64_t>& mask) {
  std::vector<int32_t> out;
  for (size_t w = 0; w < mask.size(); ++w) {
    for (uint64_t bits = mask[w]; bits; bits &= bits - 1)
      out.push_back(static_cast<int32_t>(w * 64 + __builtin_ctzll(bits)));
  }
  return out;
}

}  // namespace

ConstrainedDriver::ConstrainedDriver(const engine::TokenConstraint& constraint,
                                     const Vocabulary& vocab)
    : c_(constraint), vocab_(vocab) {
  std::unordered_map<int32_t, std::vector<int32_t>> preds;
  std::vector<int32_t> order{c_.start_state()};
  std::unordered_map<int32_t, bool> seen{{c_.start_state(), true}};
  std::vector<uint64_t> mask;
  for (size_t head = 0; head < order.size(); ++head) {
    int32_t s = order[head];
    c_.allowed_tokens(s, mask);
    std::vector<int32_t> targets;
    for (int32_t tok : mask_tokens(mask)) targets.push_back(c_.next_state(s, tok));
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    for (int32_t t : targets) {
      if (t < 0) continue;
      preds[t].push_back(s);
      if (!seen[t]) seen[t] = true, order.push_back(t);
    }
  }
  std::vector<int32_t> queue;
  for (int32_t s : order)
    if (c_.accepting(s)) distance_[s] = 0, queue.push_back(s);
  for (size_t head = 0; head < queue.size(); ++head) {
    int32_t t = queue[head];
    for (int32_t p : preds[t])
      if (!distance_.count(p)) distance_[p] = distance_[t] + 1, queue.push_back(p);
  }
}

int ConstrainedDriver::distance(int32_t state) const {
  auto it = distance_.find(state);
  return it == distance_.end() ? std::numeric_limits<int>::max() : it->second;
}

std::vector<int32_t> ConstrainedDriver::tokenize_forced(int32_t state,
                                                        const std::string& text) const {
  std::vector<int32_t> out;
  const TokenTrie& trie = vocab_.trie();
  size_t pos = 0;
  while (pos < text.size()) {
    // Longest token that is a prefix of the rest and legal here.
    int32_t best = -1, best_state = -1;
    size_t best_len = 0;
    // Preorder scan: a node is visited only if all its ancestors matched.
    for (size_t i = 0; i < trie.nodes.size();) {
      const auto& node = trie.nodes[i];
      size_t d = node.depth - 1;
      if (pos + d >= text.size() || node.byte != static_cast<uint8_t>(text[pos + d])) {
        i = node.skip;
        continue;
      }
      for (int32_t k = node.tokens_begin; k < node.tokens_end; ++k) {
        int32_t t = c_.next_state(state, trie.token_ids[k]);
        if (t >= 0 && d + 1 > best_len) best = trie.token_ids[k], best_len = d + 1, best_state = t;
      }
      ++i;
    }
    if (best < 0) return {};
    out.push_back(best);
    state = best_state;
    pos += best_len;
  }
  return out;
}

DriveResult ConstrainedDriver::run(const DriveOptions& options) const {
  DriveResult r;
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  int32_t state = c_.start_state();
  std::vector<uint64_t> mask;
  const int hard_limit = options.soft_budget + 100000;
  for (int step = 0; step < hard_limit; ++step) {
    if (options.jump_forward) {
      std::string forced = c_.forced_text(state);
      if (!forced.empty()) {
        std::vector<int32_t> toks = tokenize_forced(state, forced);
        if (!toks.empty()) {
          int32_t s = state;
          for (int32_t t : toks) s = c_.next_state(s, t);
          if (c_.next_state_bytes(state, forced) != s) {
            r.problem = "next_state_bytes disagrees with the token walk over forced text";
            return r;
          }
          r.tokens.insert(r.tokens.end(), toks.begin(), toks.end());
          r.text += forced;
          r.forced_tokens += static_cast<int>(toks.size());
          ++r.jumps;
          state = s;
        }
      }
    }
    c_.allowed_tokens(state, mask);
    std::vector<int32_t> allowed = mask_tokens(mask);
    for (int32_t t : allowed) {
      if (t >= vocab_.size() || vocab_.excluded(t)) {
        r.problem = "mask allows an excluded or out-of-range token";
        return r;
      }
    }
    if (c_.finished(state) != allowed.empty()) {
      r.problem = "finished() disagrees with the mask";
      return r;
    }
    bool steer = step >= options.soft_budget;
    if (c_.accepting(state) && (allowed.empty() || steer || unit(rng) < options.stop_probability)) {
      r.accepted = true;
      return r;
    }
    if (allowed.empty()) {
      r.problem = "stuck: no legal token in a non-accepting state";
      return r;
    }
    if (steer) {
      int here = distance(state);
      std::vector<int32_t> closer;
      for (int32_t t : allowed)
        if (distance(c_.next_state(state, t)) < here) closer.push_back(t);
      if (closer.empty()) {
        r.problem = "no token gets closer to acceptance";
        return r;
      }
      allowed.swap(closer);
    }
    int32_t pick;
    if (options.random_logits) {
      std::vector<double> w(allowed.size());
      double mx = -1e300;
      for (double& x : w) x = normal(rng), mx = std::max(mx, x);
      for (double& x : w) x = std::exp(x - mx);
      pick = allowed[std::discrete_distribution<size_t>(w.begin(), w.end())(rng)];
    } else {
      pick = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
    }
    int32_t next = c_.next_state(state, pick);
    if (next < 0) {
      r.problem = "next_state rejects a token the mask allowed";
      return r;
    }
    r.tokens.push_back(pick);
    r.text += vocab_.bytes(pick);
    ++r.sampled;
    state = next;
  }
  r.problem = "did not finish";
  return r;
}

}  // namespace sgp::constraint::testing
