// Dfa: subset construction over byte classes, dead-state pruning, Hopcroft minimization.
#include "constraint/dfa.h"

#include <algorithm>
#include <unordered_map>

#include "constraint/nfa.h"
#include "constraint/regex_parser.h"
#include "sgp/error.h"

namespace sgp::constraint {

namespace {

struct VectorHash {
  size_t operator()(const std::vector<int32_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int32_t x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

// A DFA over byte classes: bytes that no NFA edge tells apart share a column.
struct ClassDfa {
  int n_classes = 0;
  uint8_t class_of[256] = {};
  std::vector<int32_t> trans;  // n * n_classes, -1 = dead
  std::vector<uint8_t> accepting;
  int32_t n() const { return static_cast<int32_t>(accepting.size()); }
};

ClassDfa determinize(const Nfa& nfa) {
  ClassDfa d;
  bool cut[257] = {};
  for (const NfaState& s : nfa.states) {
    for (const auto& e : s.edges) cut[e.bytes.lo] = cut[e.bytes.hi + 1] = true;
  }
  int cls = -1;
  for (int b = 0; b < 256; ++b) {
    if (b == 0 || cut[b]) ++cls;
    d.class_of[b] = static_cast<uint8_t>(cls);
  }
  d.n_classes = cls + 1;

  std::vector<uint32_t> stamp(nfa.states.size(), 0);
  uint32_t generation = 0;
  std::vector<int32_t> stack;
  auto closure = [&](std::vector<int32_t>& set) {
    ++generation;
    stack.assign(set.begin(), set.end());
    set.clear();
    for (int32_t s : stack) stamp[s] = generation;
    while (!stack.empty()) {
      int32_t s = stack.back();
      stack.pop_back();
      set.push_back(s);
      for (int32_t t : nfa.states[s].eps) {
        if (stamp[t] != generation) stamp[t] = generation, stack.push_back(t);
      }
    }
    std::sort(set.begin(), set.end());
  };

  std::unordered_map<std::vector<int32_t>, int32_t, VectorHash> ids;
  std::vector<std::vector<int32_t>> sets;
  auto intern = [&](std::vector<int32_t>&& set) -> int32_t {
    auto it = ids.find(set);
    if (it != ids.end()) return it->second;
    if (static_cast<int32_t>(sets.size()) >= kMaxDfaStates) {
      throw sgp::Error("pattern too complex: its automaton needs more than " +
                       std::to_string(kMaxDfaStates) + " states");
    }
    int32_t id = static_cast<int32_t>(sets.size());
    ids.emplace(set, id);
    d.accepting.push_back(std::binary_search(set.begin(), set.end(), nfa.accept));
    d.trans.resize(d.trans.size() + d.n_classes, -1);
    sets.push_back(std::move(set));
    return id;
  };

  std::vector<int32_t> start{nfa.start};
  closure(start);
  intern(std::move(start));
  std::vector<std::vector<int32_t>> buckets(d.n_classes);
  for (int32_t cur = 0; cur < static_cast<int32_t>(sets.size()); ++cur) {
    for (auto& b : buckets) b.clear();
    for (int32_t s : sets[cur]) {
      for (const auto& e : nfa.states[s].edges) {
        for (int c = d.class_of[e.bytes.lo]; c <= d.class_of[e.bytes.hi]; ++c)
          buckets[c].push_back(e.to);
      }
    }
    for (int c = 0; c < d.n_classes; ++c) {
      if (buckets[c].empty()) continue;
      std::vector<int32_t> next = buckets[c];
      closure(next);
      int32_t id = intern(std::move(next));
      d.trans[static_cast<size_t>(cur) * d.n_classes + c] = id;
    }
  }
  return d;
}

// Hopcroft's partition refinement on the completed automaton (state n is the explicit dead
// state). Returns each state's block; blocks are numbered from 0.
std::vector<int32_t> hopcroft(const ClassDfa& d, const std::vector<uint8_t>& live) {
  const int32_t n = d.n() + 1;
  const int k = d.n_classes;
  const int32_t dead = n - 1;
  auto delta = [&](int32_t q, int c) -> int32_t {
    if (q == dead) return dead;
    int32_t t = d.trans[static_cast<size_t>(q) * k + c];
    return (t < 0 || !live[t]) ? dead : t;
  };
  // Inverse transitions in CSR form, indexed by target * k + class.
  std::vector<int32_t> inv_start(static_cast<size_t>(n) * k + 1, 0);
  for (int32_t q = 0; q < n; ++q)
    for (int c = 0; c < k; ++c) ++inv_start[static_cast<size_t>(delta(q, c)) * k + c + 1];
  for (size_t i = 1; i < inv_start.size(); ++i) inv_start[i] += inv_start[i - 1];
  std::vector<int32_t> inv(static_cast<size_t>(n) * k);
  {
    std::vector<int32_t> fill(inv_start.begin(), inv_start.end() - 1);
    for (int32_t q = 0; q < n; ++q)
      for (int c = 0; c < k; ++c) inv[fill[static_cast<size_t>(delta(q, c)) * k + c]++] = q;
  }

  std::vector<int32_t> elems(n), loc(n), block(n);
  std::vector<int32_t> first, end, marked;
  std::vector<uint8_t> in_work;
  std::vector<int32_t> work;
  {
    int32_t pos = 0;
    for (int pass = 0; pass < 2; ++pass) {
      int32_t begin = pos;
      for (int32_t q = 0; q < n; ++q) {
        bool acc = q != dead && d.accepting[q];
        if (acc == (pass == 0))
          elems[pos] = q, loc[q] = pos, block[q] = static_cast<int32_t>(first.size()), ++pos;
      }
      if (pos > begin) {
        work.push_back(static_cast<int32_t>(first.size()));
        first.push_back(begin), end.push_back(pos), marked.push_back(0), in_work.push_back(1);
      }
    }
  }
  std::vector<int32_t> splitter, touched;
  while (!work.empty()) {
    int32_t a = work.back();
    work.pop_back();
    in_work[a] = 0;
    splitter.assign(elems.begin() + first[a], elems.begin() + end[a]);
    for (int c = 0; c < k; ++c) {
      touched.clear();
      for (int32_t q : splitter) {
        size_t key = static_cast<size_t>(q) * k + c;
        for (int32_t i = inv_start[key]; i < inv_start[key + 1]; ++i) {
          int32_t p = inv[i];
          int32_t b = block[p];
          if (marked[b] == 0) touched.push_back(b);
          int32_t target = first[b] + marked[b];
          int32_t other = elems[target];
          std::swap(elems[loc[p]], elems[target]);
          loc[other] = loc[p];
          loc[p] = target;
          ++marked[b];
        }
      }
      for (int32_t b : touched) {
        int32_t m = marked[b];
        marked[b] = 0;
        if (m == end[b] - first[b]) continue;
        int32_t nb = static_cast<int32_t>(first.size());
        first.push_back(first[b]), end.push_back(first[b] + m), marked.push_back(0),
            in_work.push_back(0);
        first[b] += m;
        for (int32_t i = first[nb]; i < end[nb]; ++i) block[elems[i]] = nb;
        bool add_new = in_work[b] || (end[nb] - first[nb]) <= (end[b] - first[b]);
        int32_t add = add_new ? nb : b;
        if (!in_work[add]) in_work[add] = 1, work.push_back(add);
      }
    }
  }
  return block;
}

}  // namespace

Dfa Dfa::from_pattern(std::string_view pattern) {
  return from_ast(parse_regex(pattern));
}

Dfa Dfa::from_ast(const RegexAst& ast) {
  ClassDfa d;
  {
    Nfa nfa = Nfa::build(ast);
    d = determinize(nfa);
  }
  const int32_t n = d.n();
  const int k = d.n_classes;
  // Live states can still reach acceptance; everything else is the dead state.
  std::vector<std::vector<int32_t>> preds(n);
  for (int32_t q = 0; q < n; ++q)
    for (int c = 0; c < k; ++c) {
      int32_t t = d.trans[static_cast<size_t>(q) * k + c];
      if (t >= 0 && (preds[t].empty() || preds[t].back() != q)) preds[t].push_back(q);
    }
  std::vector<uint8_t> live(n, 0);
  std::vector<int32_t> stack;
  for (int32_t q = 0; q < n; ++q)
    if (d.accepting[q]) live[q] = 1, stack.push_back(q);
  while (!stack.empty()) {
    int32_t q = stack.back();
    stack.pop_back();
    for (int32_t p : preds[q])
      if (!live[p]) live[p] = 1, stack.push_back(p);
  }
  Dfa out;
  if (!live[0]) return out;

  std::vector<int32_t> block = hopcroft(d, live);
  const int32_t dead_block = block[n];
  // Renumber blocks breadth-first from the start so equal patterns give equal automata.
  std::vector<int32_t> number(block.size() + 1, -1);
  std::vector<int32_t> rep;  // a member state of each new state
  std::vector<int32_t> queue{0};
  number[block[0]] = 0;
  rep.push_back(0);
  for (size_t head = 0; head < queue.size(); ++head) {
    int32_t q = queue[head];
    for (int c = 0; c < k; ++c) {
      int32_t t = d.trans[static_cast<size_t>(q) * k + c];
      if (t < 0 || !live[t] || block[t] == dead_block || number[block[t]] >= 0) continue;
      number[block[t]] = static_cast<int32_t>(rep.size());
      rep.push_back(t);
      queue.push_back(t);
    }
  }
  const int32_t m = static_cast<int32_t>(rep.size());
  out.trans_.assign(static_cast<size_t>(m) * 256, -1);
  out.accepting_.resize(m);
  for (int32_t s = 0; s < m; ++s) {
    int32_t q = rep[s];
    out.accepting_[s] = d.accepting[q];
    for (int b = 0; b < 256; ++b) {
      int32_t t = d.trans[static_cast<size_t>(q) * k + d.class_of[b]];
      if (t >= 0 && live[t] && block[t] != dead_block)
        out.trans_[static_cast<size_t>(s) * 256 + b] = number[block[t]];
    }
  }
  return out;
}

int32_t Dfa::walk(int32_t state, std::string_view bytes) const {
  for (char ch : bytes) {
    if (state < 0) return -1;
    state = next(state, static_cast<uint8_t>(ch));
  }
  return state;
}

bool Dfa::full_match(std::string_view text) const {
  if (empty()) return false;
  int32_t s = walk(0, text);
  return s >= 0 && accepting(s);
}

std::string Dfa::forced_text(int32_t state) const {
  std::string out;
  for (int32_t steps = 0; steps < n_states() && !accepting(state); ++steps) {
    int32_t only = -1, to = -1;
    for (int b = 0; b < 256; ++b) {
      int32_t t = next(state, static_cast<uint8_t>(b));
      if (t < 0) continue;
      if (only >= 0) {
        only = -2;
        break;
      }
      only = b, to = t;
    }
    if (only < 0) break;
    out += static_cast<char>(only);
    state = to;
  }
  // Leave a character whose encoding is not complete to the sampler.
  for (size_t i = out.size(), back = 0; i > 0 && back < 4; --i, ++back) {
    auto b = static_cast<uint8_t>(out[i - 1]);
    if ((b & 0xC0) == 0x80) continue;
    size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    if (out.size() - (i - 1) < len) out.resize(i - 1);
    break;
  }
  return out;
}

}  // namespace sgp::constraint
