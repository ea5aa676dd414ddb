// MemoryFile: a memfd rewritten per input, opened by loaders through /proc/self/fd.
#include "memory_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace sgp::fuzz {

MemoryFile::MemoryFile() {
  fd_ = memfd_create("sgp-fuzz", 0);
  if (fd_ < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() {
  close(fd_);
}

const std::string& MemoryFile::write(const uint8_t* data, size_t size) {
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) {
    std::perror("memfd write");
    std::abort();
  }
  return path_;
}

}  // namespace sgp::fuzz
