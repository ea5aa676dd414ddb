// Source files: their text and the line table diagnostics use to quote a line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::compiler {

struct SourceFile {
  std::string path;  // as given (or resolved for imports)
  std::string text;
  std::vector<size_t> line_starts;  // byte offset of each line

  SourceFile(std::string path, std::string text);
  std::string_view line(int line_no) const;  // 1-based; without the newline
};

// Every file a compilation touched; graph::SourceLoc::file indexes it.
class SourceSet {
 public:
  int32_t add(std::string path, std::string text);
  const SourceFile& at(int32_t index) const { return files_.at(index); }
  int32_t size() const { return static_cast<int32_t>(files_.size()); }
  int32_t find(const std::string& path) const;  // -1 if absent

 private:
  std::vector<SourceFile> files_;
};

// Reads a whole file; returns false (and leaves `out` empty) when it can't be read.
bool read_file(const std::string& path, std::string& out);

}  // namespace sgp::compiler
