// Each matcher returns the end of the leftmost-first regex match at a position, evaluated the way
// a backtracking engine (Oniguruma, as in HF tokenizers) would.
#include "tokenizer/pre_tokenizer.h"

#include "sgp/error.h"

namespace sgp::model {

namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2RegexNoFallback =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Span {
  const CodeUnit* u;
  size_t n;
  uint32_t cp(size_t i) const { return u[i].cp; }
  CharClass cls(size_t i) const { return u[i].cls; }
  size_t run(size_t i, CharClass c) const {
    while (i < n && u[i].cls == c) ++i;
    return i;
  }
};

bool is_newline(uint32_t cp) {
  return cp == '\r' || cp == '\n';
}

// Folds what (?i) equates with the ASCII letters of the contractions; U+017F (long s) folds to s.
uint32_t fold(uint32_t cp, bool ignore_case) {
  if (!ignore_case) return cp;
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp == 0x17F) return 's';
  return cp;
}

// 's|'t|'re|'ve|'m|'ll|'d at i; returns the end or 0.
size_t match_contraction(const Span& s, size_t i, bool ignore_case) {
  if (s.cp(i) != '\'' || i + 1 >= s.n) return 0;
  uint32_t a = fold(s.cp(i + 1), ignore_case);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if (i + 2 >= s.n) return 0;
  uint32_t b = fold(s.cp(i + 2), ignore_case);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return 0;
}

// \s+(?!\S)|\s+ at a whitespace position i.
size_t match_space_run(const Span& s, size_t i) {
  size_t e = s.run(i, CharClass::Space);
  if (e == s.n || e - i == 1) return e;
  return e - 1;  // leave the last space to prefix the word that follows
}

size_t match_gpt2(const Span& s, size_t i) {
  if (size_t e = match_contraction(s, i, false)) return e;
  size_t j = i;
  if (s.cp(i) == ' ' && i + 1 < s.n && s.cls(i + 1) != CharClass::Space) j = i + 1;
  CharClass c = s.cls(j);
  if (c != CharClass::Space) return s.run(j, c);  // ' '?\p{L}+ | ' '?\p{N}+ | ' '?[^\s\p{L}\p{N}]+
  return match_space_run(s, i);
}

size_t match_llama3(const Span& s, size_t i, size_t max_digits) {
  if (size_t e = match_contraction(s, i, true)) return e;
  CharClass c = s.cls(i);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c == CharClass::Letter) return s.run(i, CharClass::Letter);
  if (c != CharClass::Number && !is_newline(s.cp(i)) && i + 1 < s.n &&
      s.cls(i + 1) == CharClass::Letter)
    return s.run(i + 1, CharClass::Letter);
  // \p{N}{1,n}
  if (c == CharClass::Number) {
    size_t e = i;
    while (e < s.n && e - i < max_digits && s.cls(e) == CharClass::Number) ++e;
    return e;
  }
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  size_t j = (s.cp(i) == ' ' && i + 1 < s.n && s.cls(i + 1) == CharClass::Other) ? i + 1 : i;
  if (s.cls(j) == CharClass::Other) {
    size_t e = s.run(j, CharClass::Other);
    while (e < s.n && is_newline(s.cp(e))) ++e;
    return e;
  }
  // \s*[\r\n]+ : the space run up to and including its last line break
  size_t e = s.run(i, CharClass::Space);
  for (size_t k = e; k > i; --k)
    if (is_newline(s.cp(k - 1))) return k;
  return match_space_run(s, i);
}

void split_units(PreTokenizer kind, std::string_view text, const CodeUnit* u, size_t n,
                 std::vector<std::string_view>& pieces) {
  Span s{u, n};
  size_t i = 0;
  while (i < n) {
    size_t e;
    switch (kind) {
      case PreTokenizer::Gpt2:
        e = match_gpt2(s, i);
        break;
      case PreTokenizer::Llama3:
        e = match_llama3(s, i, 3);
        break;
      case PreTokenizer::Qwen2:
        e = match_llama3(s, i, 1);
        break;
      default:
        e = n;
        break;
    }
    if (e <= i) e = i + 1;  // every class is matched by some alternative; stay safe anyway
    size_t b0 = u[i].offset, b1 = u[e - 1].offset + u[e - 1].len;
    pieces.push_back(text.substr(b0, b1 - b0));
    i = e;
  }
}

}  // namespace

const char* pre_tokenizer_name(PreTokenizer kind) {
  switch (kind) {
    case PreTokenizer::None:
      return "none";
    case PreTokenizer::Gpt2:
      return "gpt2";
    case PreTokenizer::SmolLM:
      return "smollm";
    case PreTokenizer::Llama3:
      return "llama3";
    case PreTokenizer::Qwen2:
      return "qwen2";
  }
  return "?";
}

PreTokenizer pre_tokenizer_from_gguf(std::string_view pre) {
  if (pre == "default" || pre == "gpt2" || pre == "gpt-2" || pre == "mpt" || pre == "olmo" ||
      pre == "jais")
    return PreTokenizer::Gpt2;
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "codeshell" ||
      pre == "command-r")
    return PreTokenizer::SmolLM;
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3" || pre == "smaug-bpe" ||
      pre == "dbrx")
    return PreTokenizer::Llama3;
  if (pre == "qwen2") return PreTokenizer::Qwen2;
  throw Error("unsupported tokenizer pre-tokenizer '" + std::string(pre) +
              "' (supported: gpt2, smollm, llama-bpe, qwen2)");
}

std::optional<PreTokenizer> pre_tokenizer_from_regex(std::string_view regex) {
  if (regex == kGpt2Regex || regex == kGpt2RegexNoFallback) return PreTokenizer::Gpt2;
  if (regex == kLlama3Regex) return PreTokenizer::Llama3;
  if (regex == kQwen2Regex) return PreTokenizer::Qwen2;
  return std::nullopt;
}

void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<CodeUnit>& units,
                  std::vector<std::string_view>& pieces) {
  pieces.clear();
  if (text.empty()) return;
  if (kind == PreTokenizer::None) {
    pieces.push_back(text);
    return;
  }
  decode_utf8(text, units);
  if (kind != PreTokenizer::SmolLM) {
    split_units(kind, text, units.data(), units.size(), pieces);
    return;
  }
  // Digits(individual_digits) first: each number character is a piece of its own.
  size_t start = 0;
  for (size_t i = 0; i <= units.size(); ++i) {
    if (i < units.size() && units[i].cls != CharClass::Number) continue;
    split_units(PreTokenizer::Gpt2, text, units.data() + start, i - start, pieces);
    if (i < units.size()) pieces.push_back(text.substr(units[i].offset, units[i].len));
    start = i + 1;
  }
}

}  // namespace sgp::model
