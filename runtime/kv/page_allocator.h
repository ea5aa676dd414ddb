// PageAllocator: the ids of the KV page pool, with reference counts and a free list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sgp::kv {

// Pages are shared by reference count (sequences and radix-tree nodes each hold one reference);
// a page returns to the free list when its last holder releases it. The storage itself lives in
// the backend; only ids are managed here.
class PageAllocator {
 public:
  explicit PageAllocator(int n_pages);
  // The number of pages a memory budget holds (at least 0; never more than fits in an int).
  static int pages_for_budget(size_t budget_bytes, size_t page_bytes);

  int n_pages() const { return static_cast<int>(refs_.size()); }
  int n_free() const { return static_cast<int>(free_.size()); }

  // A fresh page with one reference, or -1 when the pool is empty.
  int32_t allocate();
  void retain(int32_t page);
  void release(int32_t page);
  int refcount(int32_t page) const;

 private:
  void check(int32_t page) const;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // a stack: recently freed pages are reused first
};

}  // namespace sgp::kv
