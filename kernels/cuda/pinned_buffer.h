// PinnedBuffer<T>: an owning, grow-only array in page-locked host memory, so that copies to and
// from the device run asynchronously on a stream (contents uninitialised).
#pragma once

#include <cstddef>
#include <utility>

#include "kernels/cuda/cuda_check.h"

namespace sgp::cuda {

template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { release(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer(PinnedBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), n_(std::exchange(o.n_, 0)) {}

  // Grows (never shrinks); previous contents are lost when it grows. No copy into or out of it
  // may still be queued.
  void reserve(size_t n) {
    if (n <= n_) return;
    release();
    void* p = nullptr;
    SGP_CUDA_CHECK(cudaHostAlloc(&p, n * sizeof(T), cudaHostAllocDefault));
    ptr_ = static_cast<T*>(p);
    n_ = n;
  }
  T* data() const { return ptr_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) const { return ptr_[i]; }

 private:
  void release() {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    n_ = 0;
  }
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

}  // namespace sgp::cuda
