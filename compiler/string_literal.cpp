// Escape decoding and triple-quote dedent.
#include "compiler/string_literal.h"

#include <algorithm>
#include <cstdlib>

#include "sgp/utf8.h"

namespace sgp::compiler {

namespace {
bool parse_hex(std::string_view s, uint32_t& v) {
  if (s.empty() || s.size() > 8) return false;
  v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return false;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return true;
}
}  // namespace

bool decode_escape(std::string_view esc, std::string_view next, std::string& out,
                   size_t& consumed_next, std::string& error) {
  consumed_next = 0;
  if (esc.size() < 2) {
    error = "invalid escape sequence";
    return false;
  }
  char c = esc[1];
  switch (c) {
    case 'n':
      out += '\n';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case '0':
      out += '\0';
      return true;
    case '"':
    case '\\':
    case '/':
    case '\'':
    case '{':
    case '}':
      out += c;
      return true;
    case 'u':
      break;
    default:
      error = "invalid escape sequence '" + std::string(esc) + "'";
      return false;
  }
  uint32_t cp = 0;
  if (esc.size() > 2 && esc[2] == '{') {
    if (!parse_hex(esc.substr(3, esc.size() - 4), cp) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      error = "invalid unicode escape '" + std::string(esc) + "': not a code point";
      return false;
    }
    append_utf8(out, cp);
    return true;
  }
  parse_hex(esc.substr(2), cp);
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    uint32_t lo = 0;
    if (next.size() >= 6 && next[0] == '\\' && next[1] == 'u' && parse_hex(next.substr(2, 4), lo) &&
        lo >= 0xDC00 && lo <= 0xDFFF) {
      append_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
      consumed_next = 6;
      return true;
    }
    error = "invalid unicode escape '" + std::string(esc) + "': unpaired surrogate";
    return false;
  }
  if (cp >= 0xDC00 && cp <= 0xDFFF) {
    error = "invalid unicode escape '" + std::string(esc) + "': unpaired surrogate";
    return false;
  }
  append_utf8(out, cp);
  return true;
}

void dedent(std::vector<LiteralPiece>& pieces) {
  // Drop the newline right after the opening quotes (with any trailing blanks before it).
  if (!pieces.empty() && pieces.front().is_text) {
    std::string& t = pieces.front().text;
    size_t i = t.find_first_not_of(" \t");
    if (i != std::string::npos && (t[i] == '\n' || t[i] == '\r')) {
      if (t[i] == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ++i;
      t.erase(0, i + 1);
    }
  }
  // Drop the whitespace-only last line (the closing quotes' indentation) and its newline.
  if (!pieces.empty() && pieces.back().is_text) {
    std::string& t = pieces.back().text;
    size_t nl = t.find_last_of('\n');
    if (nl != std::string::npos && t.find_first_not_of(" \t", nl + 1) == std::string::npos) {
      size_t cut = nl;
      if (cut > 0 && t[cut - 1] == '\r') --cut;
      t.erase(cut);
    }
  }
  // Common indentation over lines that have something other than blanks.
  size_t common = std::string::npos;
  bool at_line_start = true;
  for (const LiteralPiece& p : pieces) {
    if (!p.is_text) {
      if (at_line_start) common = 0;
      at_line_start = false;
      continue;
    }
    const std::string& t = p.text;
    size_t i = 0;
    while (i < t.size()) {
      if (at_line_start) {
        size_t j = i;
        while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
        bool blank = j < t.size() ? (t[j] == '\n' || t[j] == '\r') : false;
        bool runs_on = j == t.size();  // line continues in the next piece
        if (!blank) {
          if (!runs_on || &p != &pieces.back()) common = std::min(common, j - i);
        }
        i = j;
        at_line_start = false;
      }
      size_t nl = t.find('\n', i);
      if (nl == std::string::npos) break;
      i = nl + 1;
      at_line_start = true;
    }
  }
  if (common == std::string::npos || common == 0) return;
  at_line_start = true;
  for (LiteralPiece& p : pieces) {
    if (!p.is_text) {
      at_line_start = false;
      continue;
    }
    std::string out;
    const std::string& t = p.text;
    size_t i = 0;
    while (i <= t.size()) {
      if (at_line_start) {
        size_t k = 0;
        while (k < common && i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i, ++k;
        at_line_start = false;
      }
      size_t nl = t.find('\n', i);
      if (nl == std::string::npos) {
        out.append(t, i, std::string::npos);
        break;
      }
      out.append(t, i, nl + 1 - i);
      i = nl + 1;
      at_line_start = true;
    }
    p.text = std::move(out);
  }
}

}  // namespace sgp::compiler
