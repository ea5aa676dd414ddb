// Import resolution: relative paths, default aliases, the stdlib folder and $SGP_STDLIB.
#include <doctest/doctest.h>

#include <cstdlib>

#include "test_helpers.h"

using namespace sgp::compiler;
using namespace sgp::graph;

TEST_CASE("relative imports, default alias, nested imports and stdlib modules") {
  CompileResult r = compile_file("tests/data/compiler/modules/app.sgp", test::repo_options());
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Program& p = r.program;
  CHECK(p.function_index.count("util.twice") == 1);
  CHECK(p.function_index.count("s.join2") == 1);
  CHECK(p.function_index.count("pat.majority") == 1);
  CHECK(p.files == std::vector<std::string>{"tests/data/compiler/modules/app.sgp",
                                            "tests/data/compiler/modules/lib/util.sgp",
                                            "tests/data/compiler/modules/lib/strings.sgp",
                                            "stdlib/patterns.sgp"});
  const Function& main = test::fn(r, "main");
  auto calls = test::nodes_of(main, NodeKind::Call);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]->name == "util.twice");
  CHECK(calls[1]->name == "pat.majority");
  // `util.K` is the imported module's constant.
  CHECK(test::returned(r).find("util.K") != std::string::npos);
}

TEST_CASE("SGP_STDLIB overrides the built-in stdlib folder") {
  const char* src = "import \"stdlib/only_here.sgp\" as o\nfn main() {\n  return o.marker()\n}\n";
  CHECK_FALSE(compile_source("t.sgp", src).ok());  // not in the real stdlib
  setenv("SGP_STDLIB", "tests/data/compiler/modules/altlib", 1);
  CompileResult r = compile_source("t.sgp", src);
  unsetenv("SGP_STDLIB");
  CHECK_MESSAGE(r.ok(), r.format_diagnostics());
  CHECK(default_stdlib_dir() != "tests/data/compiler/modules/altlib");
}
