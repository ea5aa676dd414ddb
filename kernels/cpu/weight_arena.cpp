// WeightArena: an over-sized anonymous mapping, trimmed to a 2 MiB boundary, with MADV_HUGEPAGE.
#include "kernels/cpu/weight_arena.h"

#include <sys/mman.h>

#include <string>
#include <utility>

#include "sgp/error.h"

namespace sgp::kernels {
namespace {

constexpr size_t kHuge = size_t{2} << 20;

}  // namespace

WeightArena::WeightArena(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  map_size_ = bytes + kHuge;
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error("cannot map " + std::to_string(bytes / 1048576.0) + " MB for packed weights");
  }
  const uintptr_t at = (reinterpret_cast<uintptr_t>(map_) + kHuge - 1) / kHuge * kHuge;
  base_ = reinterpret_cast<uint8_t*>(at);
#if defined(MADV_HUGEPAGE)
  // Advice only: without huge pages the arena works the same, a little slower.
  madvise(base_, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
#endif
}

WeightArena::~WeightArena() {
  release();
}

WeightArena::WeightArena(WeightArena&& o) noexcept {
  *this = std::move(o);
}

WeightArena& WeightArena::operator=(WeightArena&& o) noexcept {
  if (this != &o) {
    release();
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    used_ = std::exchange(o.used_, 0);
  }
  return *this;
}

void WeightArena::release() {
  if (map_ != nullptr) munmap(map_, map_size_);
  map_ = nullptr;
}

uint8_t* WeightArena::take(size_t n) {
  const size_t need = footprint(n);
  if (need > size_ - used_) throw Error("packed weight arena: out of space");
  uint8_t* p = base_ + used_;
  used_ += need;
  return p;
}

}  // namespace sgp::kernels
