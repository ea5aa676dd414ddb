// REPL sessions: definitions and variables persist across snippets; failures change nothing.
#include <doctest/doctest.h>

#include "test_helpers.h"

using namespace sgp::compiler;
using namespace sgp::graph;

TEST_CASE("a session keeps definitions and globals across snippets") {
  Session s(test::repo_options());
  auto a = s.add("fn double(x) {\n  return x * 2\n}\n");
  REQUIRE_MESSAGE(a.ok, a.diagnostics);
  CHECK(a.function == -1);

  auto b = s.add("let y = double(21)\n\"y is {y}\\n\"\n");
  REQUIRE_MESSAGE(b.ok, b.diagnostics);
  REQUIRE(b.function >= 0);
  const Program& p1 = s.program();
  CHECK(p1.functions[b.function].name == "__repl_2");
  CHECK(p1.globals == std::vector<std::string>{"y"});
  int32_t double_index = p1.function_index.at("double");

  auto c = s.add("y = y + 1\ngen more(max_tokens: 3)\n");
  REQUIRE_MESSAGE(c.ok, c.diagnostics);
  const Program& p2 = s.program();
  CHECK(p2.function_index.at("double") == double_index);  // indexes are stable
  CHECK(p2.globals == std::vector<std::string>{"y", "more"});
  const Function& f = p2.functions[c.function];
  const Node& assign = f.nodes.at(f.entry);
  CHECK(assign.kind == NodeKind::Assign);
  CHECK(assign.target.global);
  CHECK(assign.target.slot == 0);
}

TEST_CASE("a failing snippet reports and leaves the session unchanged") {
  Session s(test::repo_options());
  REQUIRE(s.add("let a = 1").ok);
  size_t before = s.program().functions.size();
  auto bad = s.add("let b = nope + a");
  CHECK_FALSE(bad.ok);
  CHECK(bad.diagnostics.find("<repl:2>:1:9: error: unknown name 'nope'") != std::string::npos);
  CHECK(s.program().functions.size() == before);
  auto good = s.add("a = a + 1");
  CHECK_MESSAGE(good.ok, good.diagnostics);
}

TEST_CASE("snippets may use the same template and stdlib module") {
  Session s(test::repo_options());
  REQUIRE(s.add("use template \"chatml\"\nimport \"stdlib/patterns.sgp\" as pat").ok);
  auto b = s.add(
      "use template \"chatml\"\nimport \"stdlib/self_consistency.sgp\" as sc\n"
      "let m = pat.majority([1, 1, 2])");
  REQUIRE_MESSAGE(b.ok, b.diagnostics);
  CHECK(s.program().templates.count("chatml") == 1);
  CHECK(s.program().template_name == "chatml");
}
