// MemoryFile: fuzz bytes behind a file path (an in-memory memfd), for loaders that take a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sgp::fuzz {

class MemoryFile {
 public:
  MemoryFile();
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents; returns a path that opens them.
  const std::string& write(const uint8_t* data, size_t size);

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace sgp::fuzz
