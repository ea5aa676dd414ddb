// TokenAutomaton: walks the vocabulary trie from DFA states (lazily or all at once) and prunes dead
// ends.
#include "constraint/token_automaton.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "sgp/error.h"

namespace sgp::constraint {

namespace {

// Rows with at least this share of the vocabulary keep a ready-made mask (copy instead of scatter).
constexpr size_t kDenseDivisor = 32;

// States from which an accepting state is reachable over `edges` (successor lists).
std::vector<uint8_t> reaching_acceptance(const Dfa& dfa,
                                         const std::vector<std::vector<int32_t>>& edges) {
  const int32_t n = dfa.n_states();
  std::vector<std::vector<int32_t>> preds(n);
  for (int32_t s = 0; s < n; ++s)
    for (int32_t t : edges[s]) preds[t].push_back(s);
  std::vector<uint8_t> live(n, 0);
  std::vector<int32_t> stack;
  for (int32_t s = 0; s < n; ++s)
    if (dfa.accepting(s)) live[s] = 1, stack.push_back(s);
  while (!stack.empty()) {
    int32_t t = stack.back();
    stack.pop_back();
    for (int32_t p : preds[t])
      if (!live[p]) live[p] = 1, stack.push_back(p);
  }
  return live;
}

}  // namespace

TokenAutomaton::TokenAutomaton(Dfa dfa, std::shared_ptr<const Vocabulary> vocab,
                               const std::string& what)
    : dfa_(std::move(dfa)), vocab_(std::move(vocab)) {
  if (dfa_.empty()) throw sgp::Error(what + " can never match: its language is empty");
  const int32_t n = dfa_.n_states();
  mask_words_ = (static_cast<size_t>(vocab_->size()) + 63) / 64;
  once_ = std::make_unique<std::once_flag[]>(n);
  rows_.resize(n);

  // Liveness over single-byte tokens: cheap, and enough for byte-level vocabularies.
  bool single[256] = {};
  for (int32_t id = 0; id < vocab_->size(); ++id)
    if (!vocab_->excluded(id) && vocab_->bytes(id).size() == 1)
      single[static_cast<uint8_t>(vocab_->bytes(id)[0])] = true;
  std::vector<std::vector<int32_t>> edges(n);
  for (int32_t s = 0; s < n; ++s)
    for (int b = 0; b < 256; ++b) {
      int32_t t = dfa_.next(s, static_cast<uint8_t>(b));
      if (t >= 0 && single[b]) edges[s].push_back(t);
    }
  live_ = reaching_acceptance(dfa_, edges);
  if (live_[0]) return;

  // Exact liveness needs every row: token edges, then prune edges into dead states.
  lazy_ = false;
  std::vector<std::unique_ptr<Row>> raw(n);
  std::atomic<int32_t> cursor{0};
  std::atomic<size_t> total{0};
  auto worker = [&] {
    for (int32_t s; (s = cursor.fetch_add(1)) < n;) {
      raw[s] = std::make_unique<Row>(walk(s));
      total += raw[s]->ids.size();
      if (total > kMaxAutomatonEntries) return;
    }
  };
  std::vector<std::thread> pool;
  unsigned threads = std::min(std::max(1u, std::thread::hardware_concurrency()), 8u);
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (total > kMaxAutomatonEntries) {
    throw sgp::Error(what + " is too large for this vocabulary: more than " +
                     std::to_string(kMaxAutomatonEntries) +
                     " token transitions (shorten counted repeats or lengths)");
  }
  for (int32_t s = 0; s < n; ++s) {
    edges[s] = raw[s]->next;
    std::sort(edges[s].begin(), edges[s].end());
    edges[s].erase(std::unique(edges[s].begin(), edges[s].end()), edges[s].end());
  }
  live_ = reaching_acceptance(dfa_, edges);
  if (!live_[0]) {
    throw sgp::Error(
        what + " cannot be satisfied: no sequence of tokens in this vocabulary produces a match");
  }
  for (int32_t s = 0; s < n; ++s)
    std::call_once(once_[s], [&] {
      Row& r = *raw[s];
      finish_row(r);
      rows_[s] = std::move(raw[s]);
    });
}

TokenAutomaton::~TokenAutomaton() = default;

TokenAutomaton::Row TokenAutomaton::walk(int32_t state) const {
  const TokenTrie& trie = vocab_->trie();
  thread_local std::vector<int32_t> at, target;
  thread_local std::vector<uint64_t> seen;
  at.resize(trie.max_depth + 1);
  target.resize(vocab_->size());
  seen.assign(mask_words_, 0);
  size_t count = 0;
  at[0] = state;
  const auto& nodes = trie.nodes;
  for (size_t i = 0; i < nodes.size();) {
    const TokenTrie::Node& node = nodes[i];
    int32_t t = dfa_.next(at[node.depth - 1], node.byte);
    if (t < 0) {
      i = node.skip;
      continue;
    }
    at[node.depth] = t;
    for (int32_t k = node.tokens_begin; k < node.tokens_end; ++k) {
      int32_t id = trie.token_ids[k];
      target[id] = t;
      seen[id >> 6] |= uint64_t{1} << (id & 63);
      ++count;
    }
    ++i;
  }
  // Ascending token order without sorting: read the bitmap word by word.
  Row row;
  row.ids.reserve(count);
  row.next.reserve(count);
  for (size_t w = 0; w < mask_words_; ++w) {
    for (uint64_t bits = seen[w]; bits; bits &= bits - 1) {
      int32_t id = static_cast<int32_t>(w * 64 + __builtin_ctzll(bits));
      row.ids.push_back(id);
      row.next.push_back(target[id]);
    }
  }
  return row;
}

// Drops tokens into dead states (all of them when the state itself is dead) and adds the mask.
void TokenAutomaton::finish_row(Row& row) const {
  size_t kept = 0;
  for (size_t i = 0; i < row.ids.size(); ++i) {
    if (live_[row.next[i]]) row.ids[kept] = row.ids[i], row.next[kept] = row.next[i], ++kept;
  }
  row.ids.resize(kept);
  row.next.resize(kept);
  if (kept >= std::max<size_t>(1, vocab_->size() / kDenseDivisor)) {
    row.mask.assign(mask_words_, 0);
    for (int32_t id : row.ids) row.mask[id >> 6] |= uint64_t{1} << (id & 63);
  }
  row_bytes_ += (row.ids.capacity() + row.next.capacity()) * 4 + row.mask.capacity() * 8;
}

const TokenAutomaton::Row& TokenAutomaton::row(int32_t state) const {
  std::call_once(once_[state], [&] {
    auto r = std::make_unique<Row>();
    if (live_[state]) {
      *r = walk(state);
      finish_row(*r);
    }
    rows_[state] = std::move(r);
  });
  return *rows_[state];
}

void TokenAutomaton::precompute_all(unsigned threads) const {
  if (threads == 0) threads = std::min(std::max(1u, std::thread::hardware_concurrency()), 8u);
  std::atomic<int32_t> cursor{0};
  auto worker = [&] {
    for (int32_t s; (s = cursor.fetch_add(1)) < n_states();) row(s);
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

void TokenAutomaton::allowed_tokens(int32_t state, std::vector<uint64_t>& mask) const {
  if (mask.size() < mask_words_) mask.resize(mask_words_);
  const Row& r = row(state);
  if (!r.mask.empty()) {
    std::copy(r.mask.begin(), r.mask.end(), mask.begin());
    std::fill(mask.begin() + static_cast<std::ptrdiff_t>(mask_words_), mask.end(), 0);
    return;
  }
  std::fill(mask.begin(), mask.end(), 0);
  for (int32_t id : r.ids) mask[id >> 6] |= uint64_t{1} << (id & 63);
}

int32_t TokenAutomaton::next_state(int32_t state, int32_t token) const {
  if (state < 0 || state >= n_states()) return -1;
  const Row& r = row(state);
  auto it = std::lower_bound(r.ids.begin(), r.ids.end(), token);
  if (it == r.ids.end() || *it != token) return -1;
  return r.next[it - r.ids.begin()];
}

int32_t TokenAutomaton::next_state_bytes(int32_t state, std::string_view bytes) const {
  if (state < 0 || state >= n_states()) return -1;
  int32_t t = dfa_.walk(state, bytes);
  return t >= 0 && live_[t] ? t : -1;
}

size_t TokenAutomaton::memory_bytes() const {
  return static_cast<size_t>(n_states()) * (257 * 4 + sizeof(void*) + sizeof(std::once_flag)) +
         row_bytes_.load();
}

}  // namespace sgp::constraint
