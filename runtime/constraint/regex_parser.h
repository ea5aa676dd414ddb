// RegexParser: turns the supported regex subset into a RegexAst, with positioned errors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "constraint/regex_ast.h"
#include "sgp/error.h"

namespace sgp::constraint {

// A malformed pattern; `position()` is the byte offset in the pattern where it went wrong, so a
// compiler can point into the literal.
class PatternError : public sgp::Error {
 public:
  PatternError(std::string_view pattern, size_t position, const std::string& what);
  size_t position() const { return position_; }
  const std::string& reason() const { return reason_; }

 private:
  size_t position_;
  std::string reason_;
};

// Limits that keep lying input from building giant automata.
inline constexpr int kMaxRepeatCount = 1000;
inline constexpr int kMaxNesting = 1000;

// Parses `pattern` (UTF-8). The whole output must match: a leading `^` and trailing `$` are
// accepted and mean nothing more. Throws PatternError.
RegexAst parse_regex(std::string_view pattern);

// `text` as a pattern that matches exactly that text.
std::string regex_escape(std::string_view text);

}  // namespace sgp::constraint
