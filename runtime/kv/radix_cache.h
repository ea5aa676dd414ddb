// RadixCache: a radix tree of cached token prefixes over shared, reference-counted KV pages.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "kv/page_allocator.h"

namespace sgp::kv {

// Copies the first n_slots token slots of page src into page dst (Backend::copy_page).
using CopyPageFn = std::function<void(int32_t src, int32_t dst, int n_slots)>;

struct RadixNode;

// The KV one sequence holds: its page table (page i covers positions [i*P, (i+1)*P), one
// reference held on each) and the tree node it locks so the prefix it reads stays cached.
// A sequence only ever writes into pages past its shared prefix, which it owns alone.
struct SeqKv {
  std::vector<int32_t> pages;
  RadixNode* locked = nullptr;
};

// One run of tokens at absolute positions [start, start + tokens.size()). `pages` are the pages
// overlapping that range, in order; a page straddling a node boundary is held by both nodes
// (its slots before the boundary hold the same prefix either way).
struct RadixNode {
  std::vector<int32_t> tokens;
  int start = 0;
  std::vector<int32_t> pages;
  RadixNode* parent = nullptr;
  std::map<int32_t, std::unique_ptr<RadixNode>> children;  // keyed by first token
  int lock_ref = 0;  // sequences locking this node or a descendant
  uint64_t last_access = 0;
  int end() const { return start + static_cast<int>(tokens.size()); }
};

class RadixCache {
 public:
  RadixCache(PageAllocator& pages, int page_size);
  ~RadixCache();  // releases every node's pages (no sequence may still lock a node)
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  int page_size() const { return page_size_; }
  PageAllocator& allocator() { return pages_; }

  // Length of the longest cached prefix of tokens, at most max_len. Changes nothing.
  int match_length(std::span<const int32_t> tokens, int max_len) const;
  // Longest cached prefix (at most max_len): splits the last node so the match ends at a node
  // boundary and marks the path as recently used. Returns the node (root for no match).
  RadixNode* match_prefix(std::span<const int32_t> tokens, int max_len, int* length);
  // Page table of the path from the root to `node`, covering [0, node->end()).
  std::vector<int32_t> path_pages(const RadixNode* node) const;

  // Starts a sequence's KV from the cached prefix of tokens (at most max_len): locks it, shares
  // its full pages and copies a partially filled last page into a fresh one (copy-on-write).
  // Returns how many positions kv now holds (0 when nothing matched; rounded down to a page
  // boundary when no page is left for the copy). kv must be empty.
  int acquire_prefix(std::span<const int32_t> tokens, int max_len, SeqKv& kv,
                     const CopyPageFn& copy);
  // Makes kv's page table cover `length` positions with fresh private pages, evicting
  // unreferenced cache entries if needed. False (kv unchanged) when the pool cannot supply them.
  bool reserve(SeqKv& kv, int length);
  // Caches tokens[0, length), whose KV lies in kv's pages, and moves kv's lock to it. Pages the
  // tree takes become shared: the caller must not write into them afterwards, so a sequence
  // that goes on generating inserts a page-aligned length only.
  void insert(std::span<const int32_t> tokens, int length, SeqKv& kv);
  // A new sequence sharing the first `length` positions of kv (copy-on-write of a partial last
  // page). Returns the positions shared (rounded down to a page when no page is left).
  int fork(const SeqKv& kv, int length, SeqKv& out, const CopyPageFn& copy);
  // Releases kv's pages and lock.
  void free(SeqKv& kv);

  void lock(RadixNode* node);
  void unlock(RadixNode* node);
  // Evicts least-recently-used unlocked leaves until n_pages pages went back to the pool or
  // nothing is left to evict. Returns the pages freed.
  int evict(int n_pages);
  void clear() { evict(pages_.n_pages() + 1); }

  // Pages that evicting every unlocked node would return to the pool.
  int evictable_pages() const;
  int n_nodes() const;
  const RadixNode& root() const { return root_; }
  int cached_tokens() const;
  // Structural invariants (throws std::logic_error): for tests.
  void check_invariants() const;

 private:
  RadixNode* split(RadixNode* node, int k);
  int32_t allocate_page();
  std::vector<int32_t> node_pages(int start, int end, const std::vector<int32_t>& table) const;

  PageAllocator& pages_;
  int page_size_;
  RadixNode root_;
  uint64_t clock_ = 0;
};

}  // namespace sgp::kv
