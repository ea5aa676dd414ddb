// Source files and their line tables.
#include "compiler/source.h"

#include <fstream>
#include <sstream>

namespace sgp::compiler {

SourceFile::SourceFile(std::string p, std::string t) : path(std::move(p)), text(std::move(t)) {
  line_starts.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts.push_back(i + 1);
}

std::string_view SourceFile::line(int line_no) const {
  if (line_no < 1 || static_cast<size_t>(line_no) > line_starts.size()) return {};
  size_t begin = line_starts[line_no - 1];
  size_t end =
      static_cast<size_t>(line_no) < line_starts.size() ? line_starts[line_no] - 1 : text.size();
  if (end > begin && text[end - 1] == '\r') --end;
  return std::string_view(text).substr(begin, end - begin);
}

int32_t SourceSet::add(std::string path, std::string text) {
  files_.emplace_back(std::move(path), std::move(text));
  return static_cast<int32_t>(files_.size() - 1);
}

int32_t SourceSet::find(const std::string& path) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].path == path) return static_cast<int32_t>(i);
  return -1;
}

bool read_file(const std::string& path, std::string& out) {
  out.clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  out = std::move(ss).str();
  return true;
}

}  // namespace sgp::compiler
