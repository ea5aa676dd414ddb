// WeightArena: one anonymous mapping that holds the packed weight copies back to back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sgp::kernels {

// The mapping is 2 MiB aligned and asks for transparent huge pages, so streaming every weight
// once per decoded token walks ~50 page-table entries instead of ~25,000; matrices placed in the
// order the forward reads them also make one long stream per layer.
class WeightArena {
 public:
  WeightArena() = default;
  // Throws sgp::Error if the memory cannot be mapped.
  explicit WeightArena(size_t bytes);
  ~WeightArena();
  WeightArena(WeightArena&& o) noexcept;
  WeightArena& operator=(WeightArena&& o) noexcept;
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;

  // The next n bytes, 64-byte aligned; throws sgp::Error past the end.
  uint8_t* take(size_t n);
  // Bytes take() uses for n (n rounded up to the alignment), for sizing the arena.
  static size_t footprint(size_t n) { return (n + 63) / 64 * 64; }

 private:
  void release();
  void* map_ = nullptr;
  size_t map_size_ = 0;
  uint8_t* base_ = nullptr;
  size_t size_ = 0, used_ = 0;
};

}  // namespace sgp::kernels
