// Input balance: a small scanner over .sgp text that tracks nesting and strings.
#include "cli/input_balance.h"

namespace sgp::cli {

bool input_complete(const std::string& s) {
  int depth = 0;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s.compare(i, 3, "\"\"\"") == 0) {
      size_t end = s.find("\"\"\"", i + 3);
      if (end == std::string::npos) return false;
      i = end + 3;
      continue;
    } else if (c == '"') {
      bool raw = i > 0 && s[i - 1] == 'r';
      ++i;
      while (i < s.size() && s[i] != '"' && s[i] != '\n') i += (!raw && s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return false;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    }
    ++i;
  }
  size_t last = s.find_last_not_of(" \t\r\n");
  if (last != std::string::npos && s[last] == '\\') return false;
  return depth <= 0;
}

}  // namespace sgp::cli
