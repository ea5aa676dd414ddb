// Tests of RadixCache: match/insert/split/evict/lock/copy-on-write/fork, and a randomized
// comparison against a naive model. Every test ends with every page back in the pool.
#include "kv/radix_cache.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <vector>

using sgp::kv::PageAllocator;
using sgp::kv::RadixCache;
using sgp::kv::RadixNode;
using sgp::kv::SeqKv;
using Tokens = std::vector<int32_t>;

namespace {

// A pool plus fake page storage (one token id per slot), so a wrong page table reads back
// wrong tokens, and a write into a page someone else holds is caught.
struct Fixture {
  static constexpr int P = 4;
  PageAllocator pool;
  RadixCache cache;
  std::vector<std::vector<int32_t>> slots;
  explicit Fixture(int n_pages) : pool(n_pages), cache(pool, P), slots(n_pages, Tokens(P, -1)) {}
  ~Fixture() {
    cache.clear();
    CHECK(cache.n_nodes() == 0);
    CHECK(pool.n_free() == pool.n_pages());
  }

  sgp::kv::CopyPageFn copy() {
    return [this](int32_t src, int32_t dst, int n) {
      REQUIRE(pool.refcount(dst) == 1);
      std::fill(slots[dst].begin(), slots[dst].end(), -1);
      std::copy_n(slots[src].begin(), n, slots[dst].begin());
    };
  }
  // Computes tokens[from, to) into kv (which must cover them privately).
  bool compute(SeqKv& kv, const Tokens& t, int from, int to) {
    if (!cache.reserve(kv, to)) return false;
    for (int pos = from; pos < to; ++pos) {
      int32_t page = kv.pages[pos / P];
      REQUIRE(pool.refcount(page) == 1);  // only ever write private pages
      slots[page][pos % P] = t[pos];
    }
    return true;
  }
  Tokens read(const SeqKv& kv, int n) const {
    Tokens out;
    for (int pos = 0; pos < n; ++pos) out.push_back(slots[kv.pages[pos / P]][pos % P]);
    return out;
  }
  // A sequence that prefills t (re-using the cache) and is cached whole, then released.
  void add(const Tokens& t) {
    SeqKv kv;
    int have = cache.acquire_prefix(t, static_cast<int>(t.size()), kv, copy());
    REQUIRE(compute(kv, t, have, static_cast<int>(t.size())));
    cache.insert(t, static_cast<int>(t.size()), kv);
    cache.free(kv);
  }
  // Every page's reference count equals its holders: sequences plus tree nodes.
  void check_refcounts(const std::vector<const SeqKv*>& seqs) const {
    std::map<int32_t, int> holders;
    for (const SeqKv* kv : seqs)
      for (int32_t p : kv->pages) ++holders[p];
    std::function<void(const RadixNode&)> walk = [&](const RadixNode& n) {
      for (const auto& [tok, c] : n.children) {
        for (int32_t p : c->pages) ++holders[p];
        walk(*c);
      }
    };
    walk(cache.root());
    int used = 0;
    for (int32_t p = 0; p < pool.n_pages(); ++p) {
      CHECK(pool.refcount(p) == holders[p]);
      if (holders[p]) ++used;
    }
    CHECK(pool.n_free() == pool.n_pages() - used);
  }
};

Tokens iota(int from, int n) {
  Tokens t;
  for (int i = 0; i < n; ++i) t.push_back(from + i);
  return t;
}

}  // namespace

TEST_CASE("radix: insert then match at token granularity") {
  Fixture f(16);
  f.add(iota(1, 10));
  Tokens q = iota(1, 10);
  q.push_back(99);
  CHECK(f.cache.match_length(q, 100) == 10);
  CHECK(f.cache.match_length(q, 7) == 7);
  CHECK(f.cache.match_length(Tokens{1, 2, 3, 9}, 100) == 3);
  CHECK(f.cache.match_length(Tokens{5, 6}, 100) == 0);
  CHECK(f.cache.cached_tokens() == 10);
  f.check_refcounts({});
}

TEST_CASE("radix: a diverging insert splits the node and both branches read back") {
  Fixture f(16);
  Tokens a{1, 2, 3, 4, 5, 6};
  Tokens b{1, 2, 3, 7, 8};
  f.add(a);
  f.add(b);
  CHECK(f.cache.n_nodes() == 3);
  CHECK(f.cache.cached_tokens() == 8);
  for (const Tokens& t : {a, b}) {
    SeqKv kv;
    int n = f.cache.acquire_prefix(t, 100, kv, f.copy());
    CHECK(n == static_cast<int>(t.size()));
    CHECK(f.read(kv, n) == t);
    f.check_refcounts({&kv});
    f.cache.free(kv);
  }
  f.cache.check_invariants();
  f.check_refcounts({});
}

TEST_CASE("radix: a partially filled shared page is copied on write") {
  Fixture f(16);
  Tokens a{1, 2, 3, 4, 5, 6, 7};
  f.add(a);
  Tokens b{1, 2, 3, 4, 5, 9, 9, 9};
  SeqKv kv;
  int n = f.cache.acquire_prefix(b, 100, kv, f.copy());
  REQUIRE(n == 5);
  std::vector<int32_t> tree = f.cache.path_pages(f.cache.match_prefix(a, 100, &n));
  CHECK(kv.pages[0] == tree[0]);  // a full page is shared
  CHECK(kv.pages[1] != tree[1]);  // the partial one is a private copy
  CHECK(f.pool.refcount(kv.pages[1]) == 1);
  REQUIRE(f.compute(kv, b, 5, 8));
  CHECK(f.read(kv, 8) == b);
  SeqKv again;
  CHECK(f.cache.acquire_prefix(a, 100, again, f.copy()) == 7);
  CHECK(f.read(again, 7) == a);  // the cached run is untouched by b's writes
  f.check_refcounts({&kv, &again});
  f.cache.free(kv);
  f.cache.free(again);
}

TEST_CASE("radix: locked prefixes survive eviction; unlocked leaves go in LRU order") {
  Fixture f(16);
  Tokens a = iota(10, 8), b = iota(20, 8), c = iota(30, 8);
  f.add(a);
  f.add(b);
  f.add(c);
  SeqKv held;
  REQUIRE(f.cache.acquire_prefix(b, 100, held, f.copy()) == 8);
  int n = 0;
  f.cache.match_prefix(a, 100, &n);  // a is now more recent than c
  CHECK(f.cache.evictable_pages() == 4);
  CHECK(f.cache.evict(1) == 2);  // c (least recent, unlocked) goes first, whole
  CHECK(f.cache.match_length(c, 100) == 0);
  CHECK(f.cache.match_length(a, 100) == 8);
  CHECK(f.cache.evict(100) == 2);
  CHECK(f.cache.match_length(a, 100) == 0);
  CHECK(f.cache.match_length(b, 100) == 8);  // locked
  CHECK(f.cache.evictable_pages() == 0);
  f.cache.free(held);
  CHECK(f.cache.evictable_pages() == 2);
  f.check_refcounts({});
}

TEST_CASE("radix: evicting a leaf keeps the boundary page its parent shares") {
  Fixture f(16);
  Tokens a{1, 2, 3, 4, 5, 6, 7, 8};
  Tokens b{1, 2, 3, 4, 5, 6, 9, 9};
  f.add(a);
  f.add(b);  // split at 6: page 1 is shared by the head node and a's tail
  f.cache.evict(1);
  f.cache.check_invariants();
  SeqKv kv;
  int n = f.cache.acquire_prefix(a, 100, kv, f.copy());
  CHECK(n >= 6);
  CHECK(f.read(kv, n) == Tokens(a.begin(), a.begin() + n));
  f.cache.free(kv);
  f.check_refcounts({});
}

TEST_CASE("radix: fork shares full pages and copies the partial one") {
  Fixture f(16);
  Tokens t{1, 2, 3, 4, 5, 6};
  SeqKv kv;
  REQUIRE(f.compute(kv, t, 0, 6));
  SeqKv child;
  CHECK(f.cache.fork(kv, 6, child, f.copy()) == 6);
  CHECK(child.pages[0] == kv.pages[0]);
  CHECK(f.pool.refcount(kv.pages[0]) == 2);
  CHECK(child.pages[1] != kv.pages[1]);
  Tokens u{1, 2, 3, 4, 5, 6, 7, 8};
  REQUIRE(f.compute(child, u, 6, 8));
  CHECK(f.read(child, 8) == u);
  CHECK(f.read(kv, 6) == t);
  f.check_refcounts({&kv, &child});
  f.cache.free(kv);
  f.cache.free(child);
}

TEST_CASE("radix: reserve fails cleanly when the pool is exhausted") {
  Fixture f(3);
  SeqKv a, b;
  REQUIRE(f.cache.reserve(a, 8));
  CHECK_FALSE(f.cache.reserve(b, 8));
  CHECK(b.pages.empty());
  CHECK(f.cache.reserve(b, 4));
  f.cache.free(a);
  f.cache.free(b);
  CHECK(f.cache.reserve(a, 12));  // evicts nothing, the pool is free again
  f.cache.free(a);
}

TEST_CASE("radix: a full match takes a page when the pool is empty, or rounds down") {
  Fixture f(3);
  Tokens t{1, 2, 3, 4, 5, 6};
  f.add(t);
  SeqKv x;
  REQUIRE(f.cache.reserve(x, 4));  // the last free page
  SeqKv kv;
  CHECK(f.cache.acquire_prefix(t, 6, kv, f.copy()) == 4);  // no page for the copy
  CHECK(f.read(kv, 4) == Tokens{1, 2, 3, 4});
  f.cache.free(kv);
  f.cache.free(x);
}

namespace {

int lcp(const Tokens& a, const Tokens& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return static_cast<int>(i);
}

struct Active {
  Tokens tokens;
  int computed = 0;
  SeqKv kv;
};

// Thousands of random operations. With a pool too big to ever evict, matching must equal the
// naive model (longest common prefix with anything inserted); with a small pool, what matches
// must read back exactly and locked prefixes must survive.
void random_ops(int n_pages, uint64_t seed, bool exact) {
  Fixture f(n_pages);
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<Tokens> model;
  std::vector<Active> active;
  auto make_query = [&] {
    Tokens t;
    if (!model.empty() && pick(4) != 0) {
      const Tokens& base = model[pick(static_cast<int>(model.size()))];
      t.assign(base.begin(), base.begin() + pick(static_cast<int>(base.size()) + 1));
    }
    int extra = pick(12);
    for (int i = 0; i < extra; ++i) t.push_back(pick(3));
    if (t.empty()) t.push_back(pick(3));
    return t;
  };
  auto best = [&](const Tokens& q) {
    int b = 0;
    for (const Tokens& m : model) b = std::max(b, lcp(q, m));
    return b;
  };
  for (int step = 0; step < 3000; ++step) {
    int op = pick(10);
    if (op <= 2 && active.size() < 6) {  // start a sequence from the cache
      Active a;
      a.tokens = make_query();
      int max_len = static_cast<int>(a.tokens.size()) - pick(2);
      int want = std::min(best(a.tokens), std::max(max_len, 0));
      int n = f.cache.acquire_prefix(a.tokens, max_len, a.kv, f.copy());
      CHECK(n <= want);
      if (exact) CHECK(n == want);
      CHECK(f.read(a.kv, n) == Tokens(a.tokens.begin(), a.tokens.begin() + n));
      a.computed = n;
      if (f.compute(a.kv, a.tokens, n, static_cast<int>(a.tokens.size()))) {
        a.computed = static_cast<int>(a.tokens.size());
        active.push_back(std::move(a));
      } else {
        f.cache.free(a.kv);
      }
    } else if (op == 3 && !active.empty()) {  // cache a running sequence, page-aligned
      Active& a = active[pick(static_cast<int>(active.size()))];
      int len = a.computed / Fixture::P * Fixture::P;
      f.cache.insert(a.tokens, len, a.kv);
      model.emplace_back(a.tokens.begin(), a.tokens.begin() + len);
      // it keeps generating into its private tail
      int more = pick(6);
      Tokens t = a.tokens;
      for (int i = 0; i < more; ++i) t.push_back(pick(3));
      if (f.compute(a.kv, t, a.computed, static_cast<int>(t.size()))) {
        a.tokens = t;
        a.computed = static_cast<int>(t.size());
      }
    } else if (op == 4 && !active.empty()) {  // finish: cache whole, release
      int i = pick(static_cast<int>(active.size()));
      f.cache.insert(active[i].tokens, active[i].computed, active[i].kv);
      model.push_back(active[i].tokens);
      f.cache.free(active[i].kv);
      active.erase(active.begin() + i);
    } else if (op == 5 && !active.empty()) {  // drop without caching (preemption)
      int i = pick(static_cast<int>(active.size()));
      f.cache.free(active[i].kv);
      active.erase(active.begin() + i);
    } else if (op == 6 && !active.empty() && active.size() < 6) {  // fork
      Active& a = active[pick(static_cast<int>(active.size()))];
      Active b;
      int at = pick(a.computed + 1);
      int n = f.cache.fork(a.kv, at, b.kv, f.copy());
      CHECK(n <= at);
      b.tokens.assign(a.tokens.begin(), a.tokens.begin() + n);
      b.computed = n;
      CHECK(f.read(b.kv, n) == b.tokens);
      int extra = pick(8);
      for (int i = 0; i < extra; ++i) b.tokens.push_back(pick(3));
      if (f.compute(b.kv, b.tokens, n, static_cast<int>(b.tokens.size()))) {
        b.computed = static_cast<int>(b.tokens.size());
        active.push_back(std::move(b));
      } else {
        f.cache.free(b.kv);
      }
    } else if (op == 7 && !exact) {
      f.cache.evict(pick(4) + 1);
    } else {  // query
      Tokens q = make_query();
      int n = f.cache.match_length(q, 1000);
      CHECK(n <= best(q));
      if (exact) CHECK(n == best(q));
    }
    for (const Active& a : active) {
      CHECK(f.read(a.kv, a.computed) == a.tokens);
      if (a.kv.locked) {  // still reachable from the root
        Tokens path;
        for (const RadixNode* n = a.kv.locked; n->parent; n = n->parent)
          path.insert(path.begin(), n->tokens.begin(), n->tokens.end());
        CHECK(f.cache.match_length(path, 1000) == static_cast<int>(path.size()));
      }
    }
    f.cache.check_invariants();
    std::vector<const SeqKv*> held;
    for (const Active& a : active) held.push_back(&a.kv);
    if (step % 50 == 0) f.check_refcounts(held);
  }
  for (Active& a : active) f.cache.free(a.kv);
  f.check_refcounts({});
}

}  // namespace

TEST_CASE("radix: randomized against a naive model, no eviction") {
  for (uint64_t seed = 1; seed <= 3; ++seed) random_ops(4096, seed, true);
}

TEST_CASE("radix: randomized under a tiny pool with eviction") {
  for (uint64_t seed = 1; seed <= 5; ++seed) random_ops(24, seed, false);
}
