// Block layouts of the GGML tensor types: elements per block, bytes per block, and names.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sgp::kernels {

struct TypeTraits {
  const char* name = nullptr;
  int64_t block_elems = 0;  // elements per block (1 for plain float types)
  size_t block_bytes = 0;   // bytes per block
  bool supported = false;   // dequantize / dot product implemented here
};

// Traits of a GGML type number; nullptr for numbers whose layout is unknown.
const TypeTraits* type_traits(uint32_t type);
// "Q4_1", or "type 17" for numbers we do not know.
const char* type_name(uint32_t type);
// Bytes of a row of n elements; throws sgp::Error if the type is unknown or n is not a whole
// number of blocks.
size_t row_bytes(uint32_t type, int64_t n);

}  // namespace sgp::kernels
