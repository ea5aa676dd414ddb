// ConstrainedDriver: samples random tokens under a TokenConstraint, standing in for a model in
// tests and benches.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "constraint/token_constraint.h"
#include "constraint/vocabulary.h"

namespace sgp::constraint::testing {

struct DriveOptions {
  uint64_t seed = 1;
  bool random_logits =
      false;  // softmax over fresh normal logits (temperature 1) instead of uniform
  double stop_probability = 0.3;  // chance to end (EOS) whenever the state is accepting
  int soft_budget = 40;       // after this many tokens, only tokens that get closer to acceptance
  bool jump_forward = false;  // append forced text without sampling, tokenized greedily
};

struct DriveResult {
  std::string text;
  std::vector<int32_t> tokens;
  int sampled = 0;        // sampling steps (one model forward each)
  int forced_tokens = 0;  // tokens appended by jump-forward (one prefill for each jump)
  int jumps = 0;
  bool accepted = false;
  std::string
      problem;  // non-empty when the constraint misbehaved (illegal token, stuck state, ...)
};

class ConstrainedDriver {
 public:
  // Explores every state reachable from the start and its token distance to acceptance.
  ConstrainedDriver(const engine::TokenConstraint& constraint, const Vocabulary& vocab);
  DriveResult run(const DriveOptions& options) const;
  size_t reachable_states() const { return distance_.size(); }

 private:
  int distance(int32_t state) const;
  // Greedy longest-token split of `text` from `state`; empty if some piece has no legal token.
  std::vector<int32_t> tokenize_forced(int32_t state, const std::string& text) const;

  const engine::TokenConstraint& c_;
  const Vocabulary& vocab_;
  std::unordered_map<int32_t, int> distance_;
};

}  // namespace sgp::constraint::testing
