// The execution graph's structure: edges, forks and joins, shared prefixes, options, JSON.
#include <doctest/doctest.h>

#include "compiler/graph_json.h"
#include "sgp/error.h"
#include "test_helpers.h"

using namespace sgp::compiler;
using namespace sgp::graph;

TEST_CASE("fork: body, join, yields and the branch-invariant shared prefix") {
  CompileResult r = test::compile(R"(
fn main(q) {
  let answers = fork i in range(3) {
    user { "Solve: {q}\n" "Attempt {i}" }
    assistant { gen a(max_tokens: 4) }
    yield a
  }
  return answers
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  auto forks = test::nodes_of(f, NodeKind::Fork);
  REQUIRE(forks.size() == 1);
  const Node& fork = *forks[0];
  CHECK(fork.fork_kind == ForkKind::Each);
  CHECK(f.locals.at(fork.fork_var) == "i");
  CHECK(fork.value_used);
  const Node& join = f.nodes.at(fork.join);
  CHECK(join.kind == NodeKind::Join);
  CHECK(f.locals.at(join.target.slot) == "answers");
  CHECK(fork.next == fork.join);
  // RoleBegin(user) and "Solve: {q}" don't depend on i; "Attempt {i}" does.
  REQUIRE(fork.prefix_nodes.size() == 2);
  CHECK(f.nodes[fork.prefix_nodes[0]].kind == NodeKind::RoleBegin);
  CHECK(f.nodes[fork.prefix_nodes[1]].kind == NodeKind::Append);
  CHECK(f.nodes[fork.prefix_end].kind == NodeKind::Append);
  CHECK(test::returned(r) == "answers");
  // Only the role marker is known at compile time ("Solve: {q}" needs q).
  REQUIRE(fork.static_prefix.size() == 1);
  CHECK(fork.static_prefix[0].kind == NodeKind::RoleBegin);
  CHECK(fork.static_prefix[0].text == "user");
  // The yield jumps to the join and names its fork.
  auto yields = test::nodes_of(f, NodeKind::Yield);
  REQUIRE(yields.size() == 1);
  CHECK(yields[0]->next == fork.join);
  CHECK(yields[0]->join == static_cast<NodeId>(forks[0] - &f.nodes[0]));
}

TEST_CASE("fork: constant text is a static prefix; count forks; unused value") {
  CompileResult r = test::compile(R"(
const INTRO = "Answer briefly."
fn main() {
  fork 4 {
    "{INTRO}\n" "Q: 2+2?\nA:"
    gen a(max_tokens: 2)
  }
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  const Node& fork = *test::nodes_of(f, NodeKind::Fork).at(0);
  CHECK(fork.fork_kind == ForkKind::Count);
  CHECK(fork.expr.i == 4);
  CHECK_FALSE(fork.value_used);
  CHECK(f.nodes.at(fork.join).target.slot == kNoSlot);
  REQUIRE(fork.static_prefix.size() == 2);
  CHECK(fork.static_prefix[0].text == "Answer briefly.\n");
  CHECK(fork.static_prefix[1].text == "Q: 2+2?\nA:");
  CHECK(f.nodes[fork.prefix_end].kind == NodeKind::Gen);
}

TEST_CASE("nested forks each get their own join") {
  CompileResult r = test::compile(R"(
fn main() {
  let t = fork a in [1, 2] {
    let inner = fork b in [3, 4] { yield a * b }
    yield inner
  }
  return t
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  auto forks = test::nodes_of(f, NodeKind::Fork);
  auto joins = test::nodes_of(f, NodeKind::Join);
  REQUIRE(forks.size() == 2);
  REQUIRE(joins.size() == 2);
  CHECK(forks[0]->join != forks[1]->join);
  // The inner fork's join continues inside the outer body (to the outer yield).
  const Node& inner_join = f.nodes.at(forks[1]->join);
  CHECK(f.nodes.at(inner_join.next).kind == NodeKind::Yield);
}

TEST_CASE("call sites carry the callee's constant prefix; args are resolved") {
  CompileResult r = test::compile(R"(
fn ask(question, style = "short", n = 1) {
  system { "You answer questions." }
  "Style: "
  "{style}\n"
  user { question }
  assistant { gen a(max_tokens: 8) }
  return a
}
fn main() {
  let x = ask("why?", n = 3)
  let y = spawn ask("how?")
  return [x, y]
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  const Node& call = *test::nodes_of(f, NodeKind::Call).at(0);
  CHECK(call.name == "ask");
  REQUIRE(call.args.size() == 3);
  CHECK(call.args[0].s == "why?");
  CHECK(call.args[1].s == "short");  // default filled in
  CHECK(call.args[2].i == 3);        // named
  CHECK(f.locals.at(call.target.slot) == "x");
  REQUIRE(call.static_prefix.size() == 4);
  CHECK(call.static_prefix[0].kind == NodeKind::RoleBegin);
  CHECK(call.static_prefix[1].text == "You answer questions.");
  CHECK(call.static_prefix[2].kind == NodeKind::RoleEnd);
  CHECK(call.static_prefix[3].text == "Style: ");
  const Node& spawn = *test::nodes_of(f, NodeKind::Spawn).at(0);
  CHECK(spawn.static_prefix.size() == 4);
  CHECK(f.locals.at(spawn.target.slot) == "y");
  CHECK(test::fn(r, "ask").static_prefix.size() == 4);
}

TEST_CASE("loops: back-edges, break and continue are plain edges") {
  CompileResult r = test::compile(R"(
fn main(n) {
  let i = 0
  while i < n {
    i = i + 1
    if i == 2 { continue }
    if i == 5 { break }
  }
  for x in [1, 2] { i = i + x }
  return i
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  auto branches = test::nodes_of(f, NodeKind::Branch);
  REQUIRE(branches.size() == 3);
  const Node& loop = *branches[0];
  NodeId header = static_cast<NodeId>(branches[0] - &f.nodes[0]);
  NodeId exit = loop.alt;
  // `continue` (then-edge of the first if) goes back to the header; `break` to the exit.
  CHECK(branches[1]->next == header);
  CHECK(branches[2]->next == exit);
  const Node& next = *test::nodes_of(f, NodeKind::ForNext).at(0);
  CHECK(f.locals.at(next.target.slot) == "x");
  CHECK(f.nodes.at(next.alt).kind == NodeKind::Return);
  const Node& init = *test::nodes_of(f, NodeKind::ForInit).at(0);
  CHECK(init.aux == next.aux);
  // The loop body's last node jumps back to ForNext.
  bool back_edge = false;
  for (const Node& n : f.nodes)
    if (n.kind == NodeKind::Assign && n.next == static_cast<NodeId>(&next - &f.nodes[0]))
      back_edge = true;
  CHECK(back_edge);
}

TEST_CASE("calls inside expressions become nodes; and/or keep short-circuiting") {
  CompileResult r = test::compile(R"(
fn check(x) {
  return x > 1
}
fn main(a) {
  let ok = a and check(a)
  return "{check(2)}!"
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  auto calls = test::nodes_of(f, NodeKind::Call);
  REQUIRE(calls.size() == 2);
  // `and`: the call sits on the then-edge of a branch on the left operand.
  auto branches = test::nodes_of(f, NodeKind::Branch);
  REQUIRE(branches.size() == 1);
  const Node& call_assign = f.nodes.at(branches[0]->next);
  CHECK(call_assign.kind == NodeKind::Call);
  CHECK(branches[0]->alt == f.nodes.at(call_assign.next).next);  // skips the call
  CHECK(test::returned(r).find("%t") != std::string::npos);
}

TEST_CASE("options merge: use defaults < with (outer < inner) < explicit") {
  CompileResult r = test::compile(R"(
use defaults (max_tokens: 5, temperature: 1.0, method: "greedy")
fn main(t) {
  with (temperature: 0.5, top_k: 3) {
    with (temperature: 0) {
      gen a(seed: 7, top_k: t)
      select s from ["x"]
    }
  }
}
)");
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  const Function& f = test::fn(r, "main");
  const Node& gen = *test::nodes_of(f, NodeKind::Gen).at(0);
  std::map<std::string, const Option*> opts;
  for (const Option& o : gen.options) opts[o.key] = &o;
  REQUIRE(opts.size() == 4);
  CHECK(opts["max_tokens"]->value.i == 5);
  CHECK(opts["temperature"]->value.i == 0);
  CHECK(opts["seed"]->value.i == 7);
  CHECK(opts["top_k"]->value.op == ExprOp::Local);
  CHECK_FALSE(opts["top_k"]->constant);
  CHECK(opts["seed"]->constant);
  const Node& sel = *test::nodes_of(f, NodeKind::Select).at(0);
  REQUIRE(sel.options.size() == 1);
  CHECK(sel.options[0].key == "method");
  CHECK(f.locals.at(sel.aux) == "s.logprobs");
}

TEST_CASE("every node carries a source location and reads its slots") {
  CompileResult r = compile_file("examples/tree_of_thought.sgp", test::repo_options());
  REQUIRE_MESSAGE(r.ok(), r.format_diagnostics());
  for (const Function& f : r.program.functions)
    for (const Node& n : f.nodes) {
      CHECK(n.loc.file >= 0);
      CHECK(n.loc.line > 0);
      CHECK(n.loc.col > 0);
      for (int32_t s : n.reads) CHECK(static_cast<size_t>(s) < f.locals.size());
    }
  CHECK(r.program.files.size() >= 2);  // the example and the stdlib module it imports
}

TEST_CASE("graph JSON round-trips") {
  for (const char* path : {"examples/tree_of_thought.sgp", "examples/react_agent.sgp",
                           "examples/chat.sgp", "examples/few_shot_select.sgp"}) {
    CAPTURE(path);
    CompileResult r = compile_file(path, test::repo_options());
    REQUIRE(r.ok());
    nlohmann::json j = to_json(r.program);
    Program back = program_from_json(j);
    CHECK(to_json(back) == j);
    CHECK(back.functions.size() == r.program.functions.size());
  }
  CHECK_THROWS_AS(program_from_json(nlohmann::json{{"format", "other"}}), sgp::Error);
}
