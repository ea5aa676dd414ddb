// Collecting and printing compiler diagnostics.
#include "compiler/diagnostics.h"

#include <algorithm>

namespace sgp::compiler {

void Diagnostics::error(graph::SourceLoc loc, std::string message) {
  if (list_.size() > kMaxErrors) return;
  if (list_.size() == kMaxErrors) {
    list_.push_back({loc, "too many errors; stopping"});
    return;
  }
  list_.push_back({loc, std::move(message)});
}

void Diagnostics::sort() {
  size_t n = list_.size() > kMaxErrors ? kMaxErrors : list_.size();
  std::stable_sort(list_.begin(), list_.begin() + n, [](const Diagnostic& a, const Diagnostic& b) {
    if (a.loc.file != b.loc.file) return a.loc.file < b.loc.file;
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    return a.loc.col < b.loc.col;
  });
}

namespace {
// Quoted lines are cut so a 1 MB line doesn't flood the terminal.
constexpr size_t kMaxQuote = 200;

size_t utf8_advance(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  return std::min(s.size(), i + n);
}
}  // namespace

std::string Diagnostics::format_one(const Diagnostic& d, const SourceSet& sources) {
  std::string out;
  if (d.loc.file < 0 || d.loc.file >= sources.size()) {
    out = "error: " + d.message + "\n";
    return out;
  }
  const SourceFile& f = sources.at(d.loc.file);
  out = f.path + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) +
        ": error: " + d.message + "\n";
  std::string_view line = f.line(d.loc.line);
  // Walk code points up to the column, keeping a window of at most kMaxQuote bytes.
  size_t pos = 0, start = 0;
  for (int c = 1; c < d.loc.col && pos < line.size(); ++c) pos = utf8_advance(line, pos);
  if (pos > kMaxQuote / 2) start = pos - kMaxQuote / 2;
  while (start > 0 && start < line.size() &&
         (static_cast<unsigned char>(line[start]) & 0xC0) == 0x80)
    ++start;
  std::string_view quoted = line.substr(start, kMaxQuote);
  std::string caret;
  for (size_t i = start; i < pos && i < line.size(); i = utf8_advance(line, i))
    caret += line[i] == '\t' ? '\t' : ' ';
  caret += '^';
  std::string q;
  for (unsigned char ch : quoted) q += (ch < 0x20 && ch != '\t') ? ' ' : static_cast<char>(ch);
  out += q + "\n" + caret + "\n";
  return out;
}

std::string Diagnostics::format(const SourceSet& sources) const {
  std::string out;
  for (const Diagnostic& d : list_) out += format_one(d, sources);
  return out;
}

}  // namespace sgp::compiler
