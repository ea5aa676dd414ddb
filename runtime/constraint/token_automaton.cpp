// TokenAutomaton: walks the vocabulary trie from every DFA state, then prunes dead ends.
#include "constraint/token_automaton.h"

#include <algorithm>

#include "sgp/error.h"

namespace sgp::constraint {

namespace {

// Rows with at least this share of the vocabulary keep a ready-made mask (copy instead of scatter).
constexpr int32_t kDenseDivisor = 32;

}  // namespace

TokenAutomaton::TokenAutomaton(Dfa dfa, std::shared_ptr<const Vocabulary> vocab,
                               const std::string& what)
    : dfa_(std::move(dfa)), vocab_(std::move(vocab)) {
  if (dfa_.empty()) throw sgp::Error(what + " can never match: its language is empty");
  const int32_t n = dfa_.n_states();
  const TokenTrie& trie = vocab_->trie();
  mask_words_ = (static_cast<size_t>(vocab_->size()) + 63) / 64;

  // 1. Every state's tokens and where each leads.
  std::vector<int32_t> at(trie.max_depth + 1);
  std::vector<std::pair<int32_t, int32_t>> found;
  std::vector<Row> raw(n);
  std::vector<int32_t> raw_ids, raw_next;
  for (int32_t s = 0; s < n; ++s) {
    found.clear();
    at[0] = s;
    const auto& nodes = trie.nodes;
    for (size_t i = 0; i < nodes.size();) {
      const TokenTrie::Node& node = nodes[i];
      int32_t t = dfa_.next(at[node.depth - 1], node.byte);
      if (t < 0) {
        i = node.skip;
        continue;
      }
      at[node.depth] = t;
      for (int32_t k = node.tokens_begin; k < node.tokens_end; ++k)
        found.emplace_back(trie.token_ids[k], t);
      ++i;
    }
    std::sort(found.begin(), found.end());
    raw[s].offset = static_cast<int64_t>(raw_ids.size());
    raw[s].count = static_cast<int32_t>(found.size());
    if (raw_ids.size() + found.size() > kMaxAutomatonEntries) {
      throw sgp::Error(what + " is too large for this vocabulary: more than " +
                       std::to_string(kMaxAutomatonEntries) +
                       " token transitions (shorten counted repeats or lengths)");
    }
    for (auto [id, t] : found) raw_ids.push_back(id), raw_next.push_back(t);
  }

  // 2. States from which a token sequence reaches acceptance (backwards over distinct edges).
  std::vector<std::vector<int32_t>> preds(n);
  std::vector<int32_t> seen(n, -1);
  for (int32_t s = 0; s < n; ++s) {
    for (int64_t i = raw[s].offset; i < raw[s].offset + raw[s].count; ++i) {
      int32_t t = raw_next[i];
      if (seen[t] != s) seen[t] = s, preds[t].push_back(s);
    }
  }
  can_finish_.assign(n, 0);
  std::vector<int32_t> stack;
  for (int32_t s = 0; s < n; ++s)
    if (dfa_.accepting(s)) can_finish_[s] = 1, stack.push_back(s);
  while (!stack.empty()) {
    int32_t t = stack.back();
    stack.pop_back();
    for (int32_t p : preds[t])
      if (!can_finish_[p]) can_finish_[p] = 1, stack.push_back(p);
  }
  if (!can_finish_[0]) {
    throw sgp::Error(
        what + " cannot be satisfied: no sequence of tokens in this vocabulary produces a match");
  }

  // 3. Keep only transitions into states that can still finish.
  rows_.resize(n);
  ids_.reserve(raw_ids.size());
  next_.reserve(raw_ids.size());
  const int32_t dense_threshold = std::max<int32_t>(1, vocab_->size() / kDenseDivisor);
  for (int32_t s = 0; s < n; ++s) {
    rows_[s].offset = static_cast<int64_t>(ids_.size());
    if (can_finish_[s]) {
      for (int64_t i = raw[s].offset; i < raw[s].offset + raw[s].count; ++i) {
        if (can_finish_[raw_next[i]]) ids_.push_back(raw_ids[i]), next_.push_back(raw_next[i]);
      }
    }
    rows_[s].count = static_cast<int32_t>(static_cast<int64_t>(ids_.size()) - rows_[s].offset);
    if (rows_[s].count >= dense_threshold) {
      rows_[s].mask = static_cast<int32_t>(masks_.size() / mask_words_);
      masks_.resize(masks_.size() + mask_words_, 0);
      uint64_t* m = masks_.data() + static_cast<size_t>(rows_[s].mask) * mask_words_;
      for (int64_t i = rows_[s].offset; i < rows_[s].offset + rows_[s].count; ++i) {
        m[ids_[i] >> 6] |= uint64_t{1} << (ids_[i] & 63);
      }
    }
  }
  ids_.shrink_to_fit();
  next_.shrink_to_fit();
}

void TokenAutomaton::allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const {
  if (mask.size() < mask_words_) mask.resize(mask_words_);
  std::fill(mask.begin(), mask.end(), 0);
  const Row& row = rows_[state];
  if (row.mask >= 0) {
    std::copy_n(masks_.begin() + static_cast<size_t>(row.mask) * mask_words_, mask_words_,
                mask.begin());
    return;
  }
  for (int64_t i = row.offset; i < row.offset + row.count; ++i)
    mask[ids_[i] >> 6] |= uint64_t{1} << (ids_[i] & 63);
}

int32_t TokenAutomaton::next_state(int32_t state, int32_t token) const {
  if (state < 0 || state >= n_states()) return -1;
  const Row& row = rows_[state];
  auto begin = ids_.begin() + row.offset, end = begin + row.count;
  auto it = std::lower_bound(begin, end, token);
  if (it == end || *it != token) return -1;
  return next_[it - ids_.begin()];
}

int32_t TokenAutomaton::next_state_bytes(int32_t state, std::string_view bytes) const {
  if (state < 0 || state >= n_states()) return -1;
  int32_t t = dfa_.walk(state, bytes);
  return t >= 0 && can_finish_[t] ? t : -1;
}

size_t TokenAutomaton::memory_bytes() const {
  return ids_.capacity() * 8 + masks_.capacity() * 8 + rows_.capacity() * sizeof(Row) +
         static_cast<size_t>(dfa_.n_states()) * 257 * 4;
}

}  // namespace sgp::constraint
