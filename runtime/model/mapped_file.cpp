// map_file: open + fstat + mmap with clear errors; the mapping outlives the descriptor.
#include "model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "sgp/error.h"

namespace sgp::model {

Mapping map_file(const std::string& path, size_t min_size, const char* kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < min_size) {
    ::close(fd);
    throw Error(path + ": invalid " + kind + " file: truncated (" + std::to_string(size) +
                " bytes, the header alone takes " + std::to_string(min_size) + ")");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) throw Error(path + ": cannot map: " + std::strerror(err));
  return {map, size};
}

void unmap_file(const Mapping& m) {
  if (m.data != nullptr) munmap(m.data, m.size);
}

void release_pages(const void* p, size_t n) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  // Advice only: a failure leaves the pages resident, which is harmless.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace sgp::model
