// Fuzz target: safetensors bytes → SafetensorsFile::open and every tensor byte.
#include <cstdint>

#include "fuzz_target.h"
#include "memory_file.h"
#include "model/safetensors_file.h"
#include "sgp/error.h"

using namespace sgp::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sgp::fuzz::MemoryFile file;
  std::unique_ptr<SafetensorsFile> f;
  try {
    f = SafetensorsFile::open(file.write(data, size));
  } catch (const sgp::Error&) {
    return 0;
  }
  volatile uint64_t sink = 0;
  for (const auto& t : f->tensors()) {
    uint64_t sum = static_cast<uint64_t>(t.n_elements());
    for (size_t i = 0; i < t.n_bytes; ++i) sum += t.data[i];  // a lying offset shows up in ASan
    sink = sink + sum;
    if (f->tensor(t.name) == nullptr) __builtin_trap();
  }
  return 0;
}
