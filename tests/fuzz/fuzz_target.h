// The libFuzzer entry point every target defines, and the data-folder root targets load from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace sgp::fuzz {

// The repo root, compiled in (tests/data lives under it).
inline std::string source_dir() {
  return SGP_SOURCE_DIR;
}

}  // namespace sgp::fuzz
