// Grammar-level behaviour: precedence, associativity, string literals and interpolation.
#include <doctest/doctest.h>

#include "test_helpers.h"

using namespace sgp::compiler;
using sgp::graph::Expr;
using sgp::graph::ExprOp;

namespace {
const char* kParams = "fn main(a, b, c, d, x, xs, m) {\n  return ";

std::string render(const std::string& expr) {
  CompileResult r = test::compile(std::string(kParams) + expr + "\n}\n");
  if (!r.ok()) return "ERROR: " + r.format_diagnostics();
  return test::returned(r);
}

// The expression `main` returns, for literal checks.
Expr returned_expr(const std::string& body) {
  CompileResult r = test::compile("fn main(name, xs, c) {\n  return " + body + "\n}\n");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  for (const auto& n : test::fn(r, "main").nodes)
    if (n.kind == sgp::graph::NodeKind::Return) return n.expr;
  FAIL("no return");
  return {};
}

std::string str_of(const std::string& literal) {
  Expr e = returned_expr(literal);
  REQUIRE(e.op == ExprOp::Str);
  return e.s;
}
}  // namespace

TEST_CASE("operator precedence") {
  CHECK(render("1 + 2 * 3") == "(1 + (2 * 3))");
  CHECK(render("(1 + 2) * 3") == "((1 + 2) * 3)");
  CHECK(render("-2 * 3") == "(-2 * 3)");
  CHECK(render("a + b < c * d") == "((a + b) < (c * d))");
  CHECK(render("a or b and c") == "(a or (b and c))");
  CHECK(render("a and b or c and d") == "((a and b) or (c and d))");
  CHECK(render("not a == b") == "not (a == b)");
  CHECK(render("not a and b") == "(not a and b)");
  CHECK(render("a < b and b <= c or not d") == "(((a < b) and (b <= c)) or not d)");
  CHECK(render("len(xs) + 1 // 2 % 3") == "(len(xs) + ((1 // 2) % 3))");
  CHECK(render("-m.k") == "-m.k");
  CHECK(render("xs[0] * -xs[1]") == "(xs[0] * -xs[1])");
  CHECK(render("a + b == c - d") == "((a + b) == (c - d))");
}

TEST_CASE("operator associativity") {
  CHECK(render("1 - 2 - 3") == "((1 - 2) - 3)");
  CHECK(render("8 / 4 / 2") == "((8 / 4) / 2)");
  CHECK(render("a % b * c // d") == "(((a % b) * c) // d)");
  CHECK(render("a == b == c") == "((a == b) == c)");
  CHECK(render("a or b or c") == "((a or b) or c)");
  CHECK(render("a and b and c") == "((a and b) and c)");
  CHECK(render("a - -b") == "(a - -b)");
  CHECK(render("not not a") == "not not a");
  CHECK(render("xs[0][1]") == "xs[0][1]");
  CHECK(render("m.a.b") == "m.a.b");
}

TEST_CASE("escapes and unicode") {
  CHECK(str_of(R"("tab\tnl\nq\"bs\\slash\/")") == "tab\tnl\nq\"bs\\slash/");
  CHECK(str_of(R"("\u{1F600}")") == "\xF0\x9F\x98\x80");
  CHECK(str_of(R"("\u{41}\u00e9")") == "A\xC3\xA9");
  CHECK(str_of(R"("\uD83D\uDE00")") == "\xF0\x9F\x98\x80");  // JSON surrogate pair
  CHECK(str_of("\"caf\xC3\xA9 \xE2\x9C\x93\"") == "caf\xC3\xA9 \xE2\x9C\x93");  // UTF-8 as-is
  CHECK(str_of(R"("")") == "");
}

TEST_CASE("literal braces") {
  CHECK(str_of(R"("a{{b}}c")") == "a{b}c");
  CHECK(str_of(R"("{{{{")") == "{{");
  CHECK(str_of(R"("json: {{\"k\": 1}}")") == "json: {\"k\": 1}");
  CHECK(str_of(R"("lone } brace")") == "lone } brace");
}

TEST_CASE("interpolation, including nested strings") {
  Expr e = returned_expr(R"("{join(xs, ", ")}")");
  REQUIRE(e.op == ExprOp::Interp);
  REQUIRE(e.kids.size() == 1);
  CHECK(e.kids[0].op == ExprOp::Builtin);
  CHECK(e.kids[0].s == "join");
  CHECK(e.kids[0].kids[1].s == ", ");

  e = returned_expr(R"("a {"b {c} d"} e")");
  REQUIRE(e.op == ExprOp::Interp);
  REQUIRE(e.kids.size() == 3);
  CHECK(e.kids[0].s == "a ");
  CHECK(e.kids[1].op == ExprOp::Interp);
  CHECK(e.kids[1].kids.size() == 3);
  CHECK(e.kids[1].kids[1].op == ExprOp::Local);
  CHECK(e.kids[2].s == " e");

  // A map literal (with its own braces and a quoted key) inside an interpolation.
  e = returned_expr(R"("v={ {"k": name}["k"] }!")");
  REQUIRE(e.op == ExprOp::Interp);
  CHECK(e.kids[1].op == ExprOp::Index);
  CHECK(e.kids[1].kids[0].op == ExprOp::Map);
  CHECK(e.kids[2].s == "!");

  // Interpolation next to escaped braces.
  e = returned_expr(R"("{{{name}}}")");
  REQUIRE(e.op == ExprOp::Interp);
  REQUIRE(e.kids.size() == 3);
  CHECK(e.kids[0].s == "{");
  CHECK(e.kids[1].op == ExprOp::Local);
  CHECK(e.kids[2].s == "}");
}

TEST_CASE("raw strings keep backslashes and braces") {
  CHECK(str_of(R"(r"\d{4}-\d{2}")") == R"(\d{4}-\d{2})");
  CHECK(str_of(R"(r"{name}\n")") == R"({name}\n)");
  CHECK(str_of("r\"\"\"\n    a \"quoted\" \\w+\n      b\n    \"\"\"") == "a \"quoted\" \\w+\n  b");
}

TEST_CASE("triple-quoted strings strip common indentation") {
  CHECK(str_of("\"\"\"\n    line1\n      line2\n    \"\"\"") == "line1\n  line2");
  CHECK(str_of("\"\"\"one line\"\"\"") == "one line");
  CHECK(str_of("\"\"\"\n  a\n\n  b\n  \"\"\"") == "a\n\nb");
  CHECK(str_of("\"\"\"say \"hi\" and \"\"twice\"\" \"\"\"") == "say \"hi\" and \"\"twice\"\" ");
  CHECK(str_of("\"\"\"\n  tab\\tescape\n  \"\"\"") == "tab\tescape");
  Expr e = returned_expr("\"\"\"\n    Q: {name}\n    A:\n    \"\"\"");
  REQUIRE(e.op == ExprOp::Interp);
  REQUIRE(e.kids.size() == 3);
  CHECK(e.kids[0].s == "Q: ");
  CHECK(e.kids[2].s == "\nA:");
}

TEST_CASE("every JSON document is a valid literal") {
  const char* json =
      R"({"a": [1, 2.5, -3e2, 4E-1, true, false, null], "b": {"c": "x\/y\u0041\n", "d": []}, "e": {}})";
  Expr e = returned_expr(json);
  CHECK(e.op == ExprOp::Map);
  CHECK(e.kids.size() == 6);
  CHECK(e.kids[1].op == ExprOp::List);
  CHECK(e.kids[1].kids[2].op == ExprOp::Neg);
  CHECK(e.kids[1].kids[2].kids[0].f == doctest::Approx(300.0));
  CHECK(e.kids[1].kids[3].f == doctest::Approx(0.4));
  CHECK(e.kids[3].kids[1].s == "x/yA\n");
  CHECK(returned_expr("[[], [[]], {\"k\": [{}]}]").op == ExprOp::List);
}

TEST_CASE("statements: if/elif/else, for, while, let, assignment, comments, semicolons") {
  CompileResult r = test::compile(R"(
# a comment
fn main(n) {
  let total = 0; let i = 0   # two statements on a line
  while i < n {
    i = i + 1
    if i % 2 == 0 { continue } elif i > 7 { break } else { total = total + i }
  }
  let m = {"k": [1, 2]}
  m["k"][0] = 5
  m.k = [total]
  for x in m.k { total = total + x }
  return total
}
)");
  CHECK_MESSAGE(r.ok(), r.format_diagnostics());
}

TEST_CASE("gen, select, roles, with, use, fork forms, spawn, extern, import, const") {
  CompileResult r = test::compile(R"(
import "stdlib/patterns.sgp" as pat
use template "llama3"
use defaults (max_tokens: 16)
const N = 2
extern fn tool(q)
fn helper(x, y = "d") {
  return x + y
}
fn main(q) {
  system { "be brief" }
  with (temperature: 0, stop: ["\n"]) {
    user { "Q: {q}" }
    assistant { gen a(max_tokens: 8, regex: r"[a-z]+") }
  }
  select s from [" yes", " no"] (method: "greedy")
  let f = spawn helper(a)
  let xs = fork i in range(3) { yield i }
  let ys = fork x in ["a", "b"] { yield x }
  let zs = fork N { gen z yield z }
  fork 2 { "side effect free" }
  use template "chatml"
  return [f, xs, ys, zs, s.logprobs, tool(q), pat.numbered(xs)]
}
)");
  CHECK_MESSAGE(r.ok(), r.format_diagnostics());
}
