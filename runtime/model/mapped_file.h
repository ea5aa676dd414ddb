// map_file: read-only memory mapping of a whole model file.
#pragma once

#include <cstddef>
#include <string>

namespace sgp::model {

struct Mapping {
  void* data = nullptr;
  size_t size = 0;
};

// Maps the file read-only. Throws sgp::Error if it cannot be opened, is not a regular file, or
// is shorter than min_size ("<path>: invalid <kind> file: truncated ...").
Mapping map_file(const std::string& path, size_t min_size, const char* kind);
void unmap_file(const Mapping& m);
// Drops the resident pages wholly inside [p, p + n) of a read-only file mapping (they are read
// again from the file if touched), for data the process has copied elsewhere.
void release_pages(const void* p, size_t n);

}  // namespace sgp::model
