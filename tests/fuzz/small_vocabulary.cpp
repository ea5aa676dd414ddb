// The fuzzing vocabulary and the automaton walk with its cross-checks.
#include "small_vocabulary.h"

#include <string>
#include <vector>

namespace sgp::fuzz {

std::shared_ptr<const constraint::Vocabulary> small_vocabulary() {
  static const std::shared_ptr<const constraint::Vocabulary> vocab = [] {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
    for (const char* t : {"{\"",    "\":",
                          "\",",    "\"}",
                          "[",      "]",
                          "true",   "false",
                          "null",   " the",
                          "ab",     "abc",
                          "123",    "0.",
                          "e+",     "\\u00",
                          "\\\"",   "  ",
                          "\n  ",   "é",
                          "中",     "\xF0\x9F\x99\x82",
                          "yes",    "no",
                          "<|end|>"})
      tokens.emplace_back(t);
    std::vector<bool> excluded(tokens.size(), false);
    excluded.back() = true;
    return std::make_shared<const constraint::Vocabulary>(std::move(tokens), std::move(excluded));
  }();
  return vocab;
}

void walk_automaton(const constraint::TokenAutomaton& a, const uint8_t* data, size_t size) {
  const int32_t n = a.vocabulary().size();
  std::vector<uint64_t> mask;
  int32_t state = a.start_state();
  for (size_t step = 0; step < 24; ++step) {
    a.allowed_tokens(state, mask);
    std::vector<int32_t> legal;
    for (int32_t t = 0; t < n; ++t) {
      bool allowed = (mask[t / 64] >> (t % 64)) & 1;
      if (allowed != (a.next_state(state, t) >= 0)) __builtin_trap();
      if (allowed) legal.push_back(t);
    }
    if (a.finished(state) != legal.empty()) __builtin_trap();
    // Sampling never gets stuck: a state with no legal token must accept.
    if (legal.empty() && !a.accepting(state)) __builtin_trap();
    std::string forced = a.forced_text(state);
    if (!forced.empty() && a.next_state_bytes(state, forced) < 0) __builtin_trap();
    if (legal.empty()) break;
    uint8_t pick = size ? data[step % size] : 0;
    state = a.next_state(state, legal[pick % legal.size()]);
  }
}

}  // namespace sgp::fuzz
