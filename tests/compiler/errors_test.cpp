// Malformed programs: each tests/data/compiler/errors/NAME.sgp lists its exact diagnostics in
// NAME.expected ("file:line:col: message" per line; a first line "#main" requires `main`).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "test_helpers.h"

namespace fs = std::filesystem;
using namespace sgp::compiler;

namespace {
const char* kDir = "tests/data/compiler/errors";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}
}  // namespace

TEST_CASE("malformed programs give exactly the expected diagnostics") {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".sgp") cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  CHECK(cases.size() >= 40);
  for (const fs::path& p : cases) {
    std::string name = p.stem().string();
    CAPTURE(name);
    std::string expected_text;
    REQUIRE(read_file((fs::path(kDir) / (name + ".expected")).string(), expected_text));
    std::vector<std::string> expected = lines_of(expected_text);
    CompileOptions o = test::repo_options();
    if (!expected.empty() && expected[0] == "#main") {
      o.require_main = true;
      expected.erase(expected.begin());
    }
    CompileResult r = compile_file(p.string(), o);
    std::vector<std::string> actual;
    for (const Diagnostic& d : r.diagnostics.list()) {
      std::string file =
          d.loc.file >= 0 ? fs::path(r.sources.at(d.loc.file).path).filename().string() : "";
      actual.push_back(file + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) +
                       ": " + d.message);
    }
    CHECK_FALSE(r.ok());
    CHECK(actual == expected);
    // The printed form quotes the line and puts a caret under the column.
    std::string shown = r.format_diagnostics();
    CHECK(shown.find(": error: ") != std::string::npos);
    CHECK(shown.find("^\n") != std::string::npos);
  }
}

TEST_CASE("diagnostic format: file:line:col, the source line, a caret under the column") {
  CompileResult r = test::compile("fn main() {\n\tlet x = nope\n}\n");
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(r.format_diagnostics() ==
        "test.sgp:2:10: error: unknown name 'nope'\n\tlet x = nope\n\t        ^\n");
}

TEST_CASE("every error is reported, not only the first") {
  CompileResult r =
      test::compile("fn main() {\n  let a = b\n  gen g(bogus: 1)\n  yield 2\n  c = 1\n}\n");
  CHECK(test::messages(r) == std::vector<std::string>{
                                 "2:11: unknown name 'b'",
                                 "3:9: unknown gen option 'bogus'",
                                 "4:3: 'yield' outside a fork body",
                                 "5:3: unknown variable 'c' (declare it with 'let')",
                             });
}

TEST_CASE("unreadable file is a diagnostic, not a crash") {
  CompileResult r = compile_file("tests/data/compiler/does_not_exist.sgp");
  REQUIRE(r.diagnostics.count() == 1);
  CHECK(r.format_diagnostics() == "error: cannot read tests/data/compiler/does_not_exist.sgp\n");
}
