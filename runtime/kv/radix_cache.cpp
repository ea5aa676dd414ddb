// RadixCache: a radix tree of cached token prefixes over shared, reference-counted KV pages.
#include "kv/radix_cache.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace sgp::kv {

namespace {

int common_length(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return static_cast<int>(i);
}

void for_each_node(const RadixNode& node, const std::function<void(const RadixNode&)>& f) {
  for (const auto& [tok, child] : node.children) {
    f(*child);
    for_each_node(*child, f);
  }
}

}  // namespace

RadixCache::RadixCache(PageAllocator& pages, int page_size) : pages_(pages), page_size_(page_size) {
  if (page_size <= 0) throw std::invalid_argument("RadixCache: page size must be positive");
}

RadixCache::~RadixCache() {
  for_each_node(root_, [&](const RadixNode& n) {
    for (int32_t p : n.pages) pages_.release(p);
  });
}

int RadixCache::match_length(std::span<const int32_t> tokens, int max_len) const {
  size_t limit = std::min(tokens.size(), static_cast<size_t>(std::max(max_len, 0)));
  tokens = tokens.first(limit);
  const RadixNode* node = &root_;
  int pos = 0;
  while (static_cast<size_t>(pos) < tokens.size()) {
    auto it = node->children.find(tokens[pos]);
    if (it == node->children.end()) break;
    const RadixNode* c = it->second.get();
    int k = common_length(c->tokens, tokens.subspan(pos));
    pos += k;
    if (k < static_cast<int>(c->tokens.size())) break;
    node = c;
  }
  return pos;
}

RadixNode* RadixCache::match_prefix(std::span<const int32_t> tokens, int max_len, int* length) {
  size_t limit = std::min(tokens.size(), static_cast<size_t>(std::max(max_len, 0)));
  tokens = tokens.first(limit);
  RadixNode* node = &root_;
  int pos = 0;
  uint64_t now = ++clock_;
  while (static_cast<size_t>(pos) < tokens.size()) {
    auto it = node->children.find(tokens[pos]);
    if (it == node->children.end()) break;
    RadixNode* c = it->second.get();
    int k = common_length(c->tokens, tokens.subspan(pos));
    if (k < static_cast<int>(c->tokens.size())) c = split(c, k);
    c->last_access = now;
    pos += k;
    node = c;
  }
  *length = pos;
  return node;
}

std::vector<int32_t> RadixCache::path_pages(const RadixNode* node) const {
  std::vector<const RadixNode*> path;
  for (const RadixNode* n = node; n != &root_ && n; n = n->parent) path.push_back(n);
  int end = node ? node->end() : 0;
  std::vector<int32_t> table(static_cast<size_t>((end + page_size_ - 1) / page_size_), -1);
  // Deeper nodes win on a shared boundary page: their copy holds the prefix slots as well.
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    const RadixNode* n = *it;
    int first = n->start / page_size_;
    for (size_t i = 0; i < n->pages.size(); ++i)
      table[static_cast<size_t>(first) + i] = n->pages[i];
  }
  return table;
}

int32_t RadixCache::allocate_page() {
  if (pages_.n_free() == 0) evict(1);
  return pages_.allocate();
}

int RadixCache::acquire_prefix(std::span<const int32_t> tokens, int max_len, SeqKv& kv,
                               const CopyPageFn& copy) {
  if (!kv.pages.empty() || kv.locked) throw std::logic_error("acquire_prefix: kv not empty");
  int length = 0;
  RadixNode* node = match_prefix(tokens, max_len, &length);
  if (length == 0) return 0;
  lock(node);
  kv.locked = node;
  std::vector<int32_t> table = path_pages(node);
  int full = length / page_size_;
  for (int i = 0; i < full; ++i) {
    pages_.retain(table[static_cast<size_t>(i)]);
    kv.pages.push_back(table[static_cast<size_t>(i)]);
  }
  int rest = length % page_size_;
  if (rest == 0) return length;
  int32_t fresh = allocate_page();
  if (fresh < 0) return full * page_size_;
  copy(table[static_cast<size_t>(full)], fresh, rest);
  kv.pages.push_back(fresh);
  return length;
}

bool RadixCache::reserve(SeqKv& kv, int length) {
  int need = (length + page_size_ - 1) / page_size_ - static_cast<int>(kv.pages.size());
  if (need <= 0) return true;
  if (pages_.n_free() < need) evict(need - pages_.n_free());
  if (pages_.n_free() < need) return false;
  for (int i = 0; i < need; ++i) kv.pages.push_back(pages_.allocate());
  return true;
}

std::vector<int32_t> RadixCache::node_pages(int start, int end,
                                            const std::vector<int32_t>& table) const {
  std::vector<int32_t> out;
  for (int i = start / page_size_; i <= (end - 1) / page_size_; ++i) {
    out.push_back(table[static_cast<size_t>(i)]);
    pages_.retain(table[static_cast<size_t>(i)]);
  }
  return out;
}

void RadixCache::insert(std::span<const int32_t> tokens, int length, SeqKv& kv) {
  if (length < 0 || static_cast<size_t>(length) > tokens.size() ||
      static_cast<size_t>((length + page_size_ - 1) / page_size_) > kv.pages.size())
    throw std::logic_error("RadixCache::insert: length beyond the tokens or the page table");
  tokens = tokens.first(static_cast<size_t>(length));
  RadixNode* node = &root_;
  int pos = 0;
  uint64_t now = ++clock_;
  while (pos < length) {
    auto it = node->children.find(tokens[pos]);
    if (it == node->children.end()) {
      auto leaf = std::make_unique<RadixNode>();
      leaf->tokens.assign(tokens.begin() + pos, tokens.end());
      leaf->start = pos;
      leaf->pages = node_pages(pos, length, kv.pages);
      leaf->parent = node;
      leaf->last_access = now;
      RadixNode* raw = leaf.get();
      node->children.emplace(tokens[pos], std::move(leaf));
      node = raw;
      pos = length;
      break;
    }
    RadixNode* c = it->second.get();
    int k = common_length(c->tokens, tokens.subspan(pos));
    if (k < static_cast<int>(c->tokens.size())) c = split(c, k);
    c->last_access = now;
    pos += k;
    node = c;
  }
  RadixNode* target = node == &root_ ? nullptr : node;
  if (target) lock(target);
  if (kv.locked) unlock(kv.locked);
  kv.locked = target;
}

int RadixCache::fork(const SeqKv& kv, int length, SeqKv& out, const CopyPageFn& copy) {
  if (!out.pages.empty() || out.locked) throw std::logic_error("RadixCache::fork: out not empty");
  if (static_cast<size_t>((length + page_size_ - 1) / page_size_) > kv.pages.size())
    throw std::logic_error("RadixCache::fork: length beyond the page table");
  if (kv.locked) {
    lock(kv.locked);
    out.locked = kv.locked;
  }
  int full = length / page_size_;
  for (int i = 0; i < full; ++i) {
    pages_.retain(kv.pages[static_cast<size_t>(i)]);
    out.pages.push_back(kv.pages[static_cast<size_t>(i)]);
  }
  int rest = length % page_size_;
  if (rest == 0) return length;
  int32_t fresh = allocate_page();
  if (fresh < 0) return full * page_size_;
  copy(kv.pages[static_cast<size_t>(full)], fresh, rest);
  out.pages.push_back(fresh);
  return length;
}

void RadixCache::free(SeqKv& kv) {
  for (int32_t p : kv.pages) pages_.release(p);
  kv.pages.clear();
  if (kv.locked) unlock(kv.locked);
  kv.locked = nullptr;
}

void RadixCache::lock(RadixNode* node) {
  for (RadixNode* n = node; n && n != &root_; n = n->parent) ++n->lock_ref;
}

void RadixCache::unlock(RadixNode* node) {
  for (RadixNode* n = node; n && n != &root_; n = n->parent) {
    if (n->lock_ref <= 0) throw std::logic_error("RadixCache::unlock: node is not locked");
    --n->lock_ref;
  }
}

// Splits node at k (0 < k < size): a new parent holds the first k tokens; node keeps the rest.
RadixNode* RadixCache::split(RadixNode* node, int k) {
  RadixNode* parent = node->parent;
  auto head = std::make_unique<RadixNode>();
  head->tokens.assign(node->tokens.begin(), node->tokens.begin() + k);
  head->start = node->start;
  head->parent = parent;
  head->lock_ref = node->lock_ref;
  head->last_access = node->last_access;
  int first = node->start / page_size_;
  int head_last = (node->start + k - 1) / page_size_;
  int tail_first = (node->start + k) / page_size_;
  head->pages.assign(node->pages.begin(), node->pages.begin() + (head_last - first + 1));
  if (tail_first == head_last) pages_.retain(node->pages[static_cast<size_t>(head_last - first)]);
  node->pages.erase(node->pages.begin(), node->pages.begin() + (tail_first - first));
  node->tokens.erase(node->tokens.begin(), node->tokens.begin() + k);
  node->start += k;

  auto& slot = parent->children[head->tokens[0]];
  std::unique_ptr<RadixNode> self = std::move(slot);
  self->parent = head.get();
  head->children.emplace(self->tokens[0], std::move(self));
  slot = std::move(head);
  return slot.get();
}

int RadixCache::evict(int n_pages) {
  auto older = [](const RadixNode* a, const RadixNode* b) {
    return a->last_access > b->last_access;
  };
  std::priority_queue<RadixNode*, std::vector<RadixNode*>, decltype(older)> leaves(older);
  std::function<void(RadixNode*)> collect = [&](RadixNode* n) {
    for (auto& [tok, c] : n->children) collect(c.get());
    if (n != &root_ && n->children.empty() && n->lock_ref == 0) leaves.push(n);
  };
  collect(&root_);
  int freed = 0;
  while (freed < n_pages && !leaves.empty()) {
    RadixNode* leaf = leaves.top();
    leaves.pop();
    for (int32_t p : leaf->pages) {
      if (pages_.refcount(p) == 1) ++freed;
      pages_.release(p);
    }
    RadixNode* parent = leaf->parent;
    parent->children.erase(leaf->tokens[0]);
    if (parent != &root_ && parent->children.empty() && parent->lock_ref == 0) leaves.push(parent);
  }
  return freed;
}

int RadixCache::evictable_pages() const {
  std::unordered_map<int32_t, int> holders;
  for_each_node(root_, [&](const RadixNode& n) {
    if (n.lock_ref == 0)
      for (int32_t p : n.pages) ++holders[p];
  });
  int count = 0;
  for (auto [p, h] : holders)
    if (pages_.refcount(p) == h) ++count;
  return count;
}

int RadixCache::n_nodes() const {
  int n = 0;
  for_each_node(root_, [&](const RadixNode&) { ++n; });
  return n;
}

int RadixCache::cached_tokens() const {
  int n = 0;
  for_each_node(root_, [&](const RadixNode& node) { n += static_cast<int>(node.tokens.size()); });
  return n;
}

void RadixCache::check_invariants() const {
  auto fail = [](const std::string& what) { throw std::logic_error("RadixCache: " + what); };
  std::function<void(const RadixNode&)> visit = [&](const RadixNode& n) {
    int child_locks = 0;
    for (const auto& [tok, c] : n.children) {
      if (c->tokens.empty()) fail("empty node");
      if (c->tokens[0] != tok) fail("child keyed by the wrong token");
      if (c->parent != &n) fail("wrong parent link");
      if (c->start != n.end()) fail("child does not start where its parent ends");
      size_t want = static_cast<size_t>((c->end() - 1) / page_size_ - c->start / page_size_ + 1);
      if (c->pages.size() != want) fail("node holds the wrong number of pages");
      for (int32_t p : c->pages)
        if (pages_.refcount(p) <= 0) fail("node holds a free page");
      if (c->lock_ref < 0) fail("negative lock count");
      child_locks += c->lock_ref;
      visit(*c);
    }
    if (&n != &root_ && n.lock_ref < child_locks) fail("node locked less than its children");
  };
  visit(root_);
}

}  // namespace sgp::kv
