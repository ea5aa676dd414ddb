// The table of GGML block layouts (fixed by the GGUF format) and type names.
#include "kernels/cpu/ggml_types.h"

#include <array>
#include <string>

#include "model/gguf_file.h"
#include "sgp/error.h"

namespace sgp::kernels {
namespace {

constexpr size_t kTypes = 40;

constexpr std::array<TypeTraits, kTypes> make_table() {
  std::array<TypeTraits, kTypes> t{};
  t[0] = {"F32", 1, 4, true};
  t[1] = {"F16", 1, 2, true};
  t[2] = {"Q4_0", 32, 18, true};
  t[3] = {"Q4_1", 32, 20, true};
  t[6] = {"Q5_0", 32, 22, true};
  t[7] = {"Q5_1", 32, 24, true};
  t[8] = {"Q8_0", 32, 34, true};
  t[9] = {"Q8_1", 32, 36, false};
  t[10] = {"Q2_K", 256, 84, false};
  t[11] = {"Q3_K", 256, 110, false};
  t[12] = {"Q4_K", 256, 144, true};
  t[13] = {"Q5_K", 256, 176, false};
  t[14] = {"Q6_K", 256, 210, true};
  t[15] = {"Q8_K", 256, 292, false};
  // Types whose names we report but whose layouts we do not read.
  t[16] = {"IQ2_XXS", 0, 0, false};
  t[17] = {"IQ2_XS", 0, 0, false};
  t[18] = {"IQ3_XXS", 0, 0, false};
  t[19] = {"IQ1_S", 0, 0, false};
  t[20] = {"IQ4_NL", 32, 18, false};
  t[21] = {"IQ3_S", 0, 0, false};
  t[22] = {"IQ2_S", 0, 0, false};
  t[23] = {"IQ4_XS", 0, 0, false};
  t[24] = {"I8", 1, 1, false};
  t[25] = {"I16", 1, 2, false};
  t[26] = {"I32", 1, 4, false};
  t[27] = {"I64", 1, 8, false};
  t[28] = {"F64", 1, 8, false};
  t[29] = {"IQ1_M", 0, 0, false};
  t[30] = {"BF16", 1, 2, true};
  t[34] = {"TQ1_0", 0, 0, false};
  t[35] = {"TQ2_0", 0, 0, false};
  return t;
}
constexpr std::array<TypeTraits, kTypes> kTable = make_table();

}  // namespace

const TypeTraits* type_traits(uint32_t type) {
  if (type >= kTypes || kTable[type].name == nullptr || kTable[type].block_elems == 0) {
    return nullptr;
  }
  return &kTable[type];
}

const char* type_name(uint32_t type) {
  if (type < kTypes && kTable[type].name != nullptr) return kTable[type].name;
  static thread_local std::string buf;
  buf = "type " + std::to_string(type);
  return buf.c_str();
}

size_t row_bytes(uint32_t type, int64_t n) {
  const TypeTraits* t = type_traits(type);
  if (t == nullptr) throw Error(std::string("unsupported tensor type ") + type_name(type));
  if (n < 0 || n % t->block_elems != 0) {
    throw Error(std::string("row of ") + std::to_string(n) + " elements is not a whole number of " +
                t->name + " blocks (" + std::to_string(t->block_elems) + ")");
  }
  return static_cast<size_t>(n / t->block_elems) * t->block_bytes;
}

}  // namespace sgp::kernels

namespace sgp::model {
const char* ggml_type_name(uint32_t type) {
  return kernels::type_name(type);
}
}  // namespace sgp::model
