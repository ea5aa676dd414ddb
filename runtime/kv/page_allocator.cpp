// PageAllocator: the ids of the KV page pool, with reference counts and a free list.
#include "kv/page_allocator.h"

#include <limits>
#include <stdexcept>
#include <string>

namespace sgp::kv {

PageAllocator::PageAllocator(int n_pages) {
  if (n_pages < 0) throw std::invalid_argument("PageAllocator: negative page count");
  refs_.assign(static_cast<size_t>(n_pages), 0);
  free_.reserve(static_cast<size_t>(n_pages));
  for (int i = n_pages - 1; i >= 0; --i) free_.push_back(i);
}

int PageAllocator::pages_for_budget(size_t budget_bytes, size_t page_bytes) {
  if (page_bytes == 0) return 0;
  size_t n = budget_bytes / page_bytes;
  size_t cap = static_cast<size_t>(std::numeric_limits<int32_t>::max());
  return static_cast<int>(n < cap ? n : cap);
}

int32_t PageAllocator::allocate() {
  if (free_.empty()) return -1;
  int32_t p = free_.back();
  free_.pop_back();
  refs_[static_cast<size_t>(p)] = 1;
  return p;
}

void PageAllocator::retain(int32_t page) {
  check(page);
  ++refs_[static_cast<size_t>(page)];
}

void PageAllocator::release(int32_t page) {
  check(page);
  if (--refs_[static_cast<size_t>(page)] == 0) free_.push_back(page);
}

int PageAllocator::refcount(int32_t page) const {
  if (page < 0 || static_cast<size_t>(page) >= refs_.size()) return 0;
  return refs_[static_cast<size_t>(page)];
}

// A bad id or a release of a free page is an engine bug, not user input: fail loudly.
void PageAllocator::check(int32_t page) const {
  if (page < 0 || static_cast<size_t>(page) >= refs_.size())
    throw std::logic_error("PageAllocator: page id " + std::to_string(page) + " out of range");
  if (refs_[static_cast<size_t>(page)] <= 0)
    throw std::logic_error("PageAllocator: page " + std::to_string(page) + " is not allocated");
}

}  // namespace sgp::kv
