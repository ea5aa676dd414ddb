// Tests of PageAllocator: reference counts, the free list, budget sizing.
#include "kv/page_allocator.h"

#include <doctest/doctest.h>

#include <set>
#include <stdexcept>

using sgp::kv::PageAllocator;

TEST_CASE("page allocator hands out distinct pages and takes them back at refcount zero") {
  PageAllocator a(4);
  std::set<int32_t> got;
  for (int i = 0; i < 4; ++i) got.insert(a.allocate());
  CHECK(got == std::set<int32_t>{0, 1, 2, 3});
  CHECK(a.allocate() == -1);
  a.retain(2);
  a.release(2);
  CHECK(a.n_free() == 0);
  CHECK(a.refcount(2) == 1);
  a.release(2);
  CHECK(a.n_free() == 1);
  CHECK(a.allocate() == 2);
  for (int p : {0, 1, 2, 3}) a.release(p);
  CHECK(a.n_free() == 4);
  CHECK_THROWS_AS(a.release(1), std::logic_error);
  CHECK_THROWS_AS(a.retain(7), std::logic_error);
}

TEST_CASE("page pool is sized from a memory budget") {
  CHECK(PageAllocator::pages_for_budget(1000, 100) == 10);
  CHECK(PageAllocator::pages_for_budget(99, 100) == 0);
  CHECK(PageAllocator::pages_for_budget(1000, 0) == 0);
  CHECK(PageAllocator::pages_for_budget(~size_t{0}, 1) == 2147483647);
}
