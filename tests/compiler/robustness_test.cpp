// Hostile input: garbage, invalid UTF-8, unterminated constructs, huge lines, deep nesting.
// Each must end in diagnostics — never a crash, hang or stack overflow.
#include <doctest/doctest.h>

#include <random>

#include "test_helpers.h"

using namespace sgp::compiler;

namespace {
std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string first_message(const CompileResult& r) {
  return r.diagnostics.list().empty() ? "" : r.diagnostics.list()[0].message;
}
}  // namespace

TEST_CASE("binary garbage") {
  std::mt19937 rng(1234);
  for (int round = 0; round < 8; ++round) {
    std::string text(4096 << round % 4, '\0');
    for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    CompileResult r = test::compile(text);
    CHECK_FALSE(r.ok());
    CHECK(r.diagnostics.count() <= Diagnostics::kMaxErrors + 1);
  }
  // Printable garbage gets past the UTF-8 check into the lexer and parser.
  std::string ascii(20000, ' ');
  for (char& c : ascii) c = static_cast<char>(32 + rng() % 95);
  CHECK_FALSE(test::compile(ascii).ok());
}

TEST_CASE("invalid UTF-8 is reported with its position") {
  CompileResult r = test::compile("fn main() {\n  \"ok \xC3\xA9 then \xFF\"\n}\n");
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(test::messages(r)[0] == "2:14: invalid UTF-8 byte 0xFF");
  CHECK_FALSE(test::compile("\xC0\x80").ok());                    // overlong
  CHECK_FALSE(test::compile("\"\xED\xA0\x80\"").ok());            // encoded surrogate
  CHECK_FALSE(test::compile("fn main() { \"\xE2\x82\" }").ok());  // truncated
}

TEST_CASE("unterminated strings, interpolations and blocks") {
  CHECK(first_message(test::compile("fn main() {\n  \"abc")) ==
        "unterminated string: end of file inside it");
  CHECK(first_message(test::compile("fn main() {\n  \"abc {x")) ==
        "unterminated string: end of file inside it");
  CHECK(first_message(test::compile("fn main() {\n  \"\"\"abc\n\n")) ==
        "unterminated string: end of file inside it");
  CHECK(first_message(test::compile("fn main() {\n  if true {\n")) == "'{' is never closed");
  CHECK(first_message(test::compile("fn main() {\n  f(1, [2,\n}\n")) == "'[' is never closed");
  CHECK_FALSE(test::compile("}}}}").ok());
  CHECK_FALSE(test::compile("\"}}}\"}").ok());
  CHECK_FALSE(test::compile("r\"abc").ok());
}

TEST_CASE("a 1 MB line") {
  std::string big_string = "fn main() {\n  return \"" + std::string(1 << 20, 'a') + "\"\n}\n";
  CHECK(test::compile(big_string).ok());
  std::string big_name = "fn main() {\n  return " + std::string(1 << 20, 'x') + "\n}\n";
  CHECK(first_message(test::compile(big_name)).starts_with("unknown name 'xxx"));
  std::string chain = "fn main() {\n  return 1" + repeat(" + 1", 250000) + "\n}\n";
  CompileResult r = test::compile(chain);
  CHECK(first_message(r) == "nesting too deep: expression has more than 1000 levels");
  std::string junk = "fn main() {\n  " + repeat("@ ", 1 << 19) + "\n}\n";
  CHECK_FALSE(test::compile(junk).ok());
}

TEST_CASE("20,000 nested parentheses, brackets, braces and interpolations") {
  const size_t n = 20000;
  CompileResult r =
      test::compile("fn main() {\n  return " + repeat("(", n) + "1" + repeat(")", n) + "\n}\n");
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(test::messages(r)[0] ==
        "2:265: nesting too deep: more than 256 levels of brackets, braces or strings");
  CHECK(first_message(
            test::compile("fn main() {\n  return " + repeat("[", n) + repeat("]", n) + "\n}")) ==
        "nesting too deep: more than 256 levels of brackets, braces or strings");
  CHECK(first_message(
            test::compile("fn main() {\n" + repeat("if true {\n", n) + repeat("}\n", n) + "}")) ==
        "nesting too deep: more than 256 levels of brackets, braces or strings");
  CHECK(first_message(test::compile("fn main() {\n  return " + repeat("\"{", n) + repeat("}\"", n) +
                                    "\n}")) ==
        "nesting too deep: more than 256 levels of brackets, braces or strings");
  CHECK(first_message(test::compile("fn main() {\n  return " + repeat("-", n) + "1\n}")) ==
        "nesting too deep: more than 256 prefix operators in a row");
  CHECK(first_message(test::compile("fn main() {\n  return " + repeat("not ", n) + "1\n}")) ==
        "nesting too deep: more than 256 prefix operators in a row");
  // Just inside the limit still compiles.
  CHECK(
      test::compile("fn main() {\n  return " + repeat("(", 200) + "1" + repeat(")", 200) + "\n}\n")
          .ok());
}

TEST_CASE("randomly mutated examples never crash the compiler") {
  std::mt19937 rng(42);
  const char* files[] = {"examples/tree_of_thought.sgp", "examples/react_agent.sgp",
                         "examples/json_extract.sgp", "examples/chat.sgp", "stdlib/patterns.sgp"};
  const std::string alphabet = "{}()[]\"'\\:,.=+-*/#\n \tabcfnr0123456789_$\x01\xC3";
  int failures = 0;
  for (const char* path : files) {
    std::string base;
    REQUIRE(read_file(path, base));
    for (int i = 0; i < 60; ++i) {
      std::string text = base;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        size_t pos = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text.erase(pos, 1 + rng() % 8);
            break;
          case 1:
            text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
            break;
          default:
            text[pos] = alphabet[rng() % alphabet.size()];
            break;
        }
      }
      CompileResult r = compile_source(path, text, test::repo_options());
      if (!r.ok()) {
        ++failures;
        CHECK(r.format_diagnostics().find(": error: ") != std::string::npos);
      }
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("a byte-order mark and CRLF line endings are accepted") {
  CompileResult r = test::compile(
      "\xEF\xBB\xBF# saved by an editor\r\nfn main() {\r\n  \"hi\"\r\n"
      "  return 1\r\n}\r\n");
  CHECK_MESSAGE(r.ok(), r.format_diagnostics());
  CompileResult bad = test::compile("fn main() {\r\n  return nope\r\n}\r\n");
  CHECK(test::messages(bad) == std::vector<std::string>{"2:10: unknown name 'nope'"});
  CHECK(bad.format_diagnostics() ==
        "test.sgp:2:10: error: unknown name 'nope'\n  return nope\n         ^\n");
}
