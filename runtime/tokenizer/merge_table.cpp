// BPE merging with a heap of candidate pairs over a linked list of symbols: O(n log n) a word.
#include "tokenizer/merge_table.h"

#include <algorithm>

namespace sgp::model {

void MergeTable::add(int32_t left, int32_t right, int32_t merged, float priority) {
  pairs_.try_emplace(key(left, right), Entry{merged, priority});
}

void MergeTable::add_ranked(const std::vector<std::pair<std::string, std::string>>& merges,
                            const TokenIndex& ids) {
  pairs_.reserve(merges.size());
  float rank = 0;
  std::string joined;
  for (const auto& [a, b] : merges) {
    joined.assign(a).append(b);
    auto ia = ids.find(a), ib = ids.find(b), im = ids.find(joined);
    if (ia != ids.end() && ib != ids.end() && im != ids.end())
      add(ia->second, ib->second, im->second, rank);
    rank += 1;
  }
}

const MergeTable::Entry* MergeTable::find(int32_t left, int32_t right) const {
  auto it = pairs_.find(key(left, right));
  return it == pairs_.end() ? nullptr : &it->second;
}

void MergeTable::apply(std::vector<int32_t>& symbols) const {
  const int32_t n = static_cast<int32_t>(symbols.size());
  if (n < 2) return;
  struct Sym {
    int32_t id, prev, next;
  };
  struct Candidate {
    float priority;
    int32_t pos, right, left_id, right_id, merged;
  };
  // Heap top = lowest priority, then leftmost position.
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.pos > b.pos;
  };
  std::vector<Sym> sym(n);
  for (int32_t i = 0; i < n; ++i) sym[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1};
  std::vector<Candidate> heap;
  heap.reserve(n);
  auto consider = [&](int32_t pos) {
    if (pos < 0) return;
    int32_t right = sym[pos].next;
    if (right < 0) return;
    if (const Entry* e = find(sym[pos].id, sym[right].id)) {
      heap.push_back({e->priority, pos, right, sym[pos].id, sym[right].id, e->merged});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Candidate c = heap.back();
    heap.pop_back();
    // Skip candidates made stale by an earlier merge of either side.
    if (sym[c.pos].id != c.left_id || sym[c.pos].next != c.right || sym[c.right].id != c.right_id)
      continue;
    sym[c.pos].id = c.merged;
    int32_t after = sym[c.right].next;
    sym[c.pos].next = after;
    if (after >= 0) sym[after].prev = c.pos;
    sym[c.right].id = -1;
    consider(sym[c.pos].prev);
    consider(c.pos);
  }
  symbols.clear();
  for (int32_t i = 0; i >= 0; i = sym[i].next) symbols.push_back(sym[i].id);
}

}  // namespace sgp::model
