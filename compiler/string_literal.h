// Decoding string literal pieces: escapes and the indentation stripping of """...""" strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::compiler {

// Decodes one escape sequence (`\n`, `\u{1F600}`, `\u00e9`...) to UTF-8. `next` is the text right
// after it (for a `\uD83D\uDE00` surrogate pair); `consumed_next` says how much of it was used.
// Returns false with `error` set for an invalid code point.
bool decode_escape(std::string_view esc, std::string_view next, std::string& out,
                   size_t& consumed_next, std::string& error);

// A piece of a triple-quoted literal: raw source text (subject to dedent) or anything else
// (an escape's value or an interpolation), which is never stripped and ends indentation.
struct LiteralPiece {
  bool is_text = false;
  std::string text;
  int interp = -1;  // >= 0: the place of that interpolation (text unused)
};

// Strips a leading newline right after the opening quotes, the whitespace-only last line before
// the closing quotes, and the indentation common to all non-blank lines.
void dedent(std::vector<LiteralPiece>& pieces);

}  // namespace sgp::compiler
