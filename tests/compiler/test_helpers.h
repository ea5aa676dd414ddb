// Small helpers shared by the compiler tests: compile text, find nodes, render expressions.
#pragma once

#include <string>
#include <vector>

#include "compiler/compile.h"
#include "compiler/graph_dot.h"
#include "compiler/module_loader.h"

namespace sgp::compiler::test {

inline CompileOptions repo_options() {
  CompileOptions o;
  o.stdlib_dir = "stdlib";  // tests run from the repo root; keeps paths in goldens relative
  return o;
}

inline CompileResult compile(const std::string& text) {
  return compile_source("test.sgp", text, repo_options());
}

inline const graph::Function& fn(const CompileResult& r, const std::string& name) {
  return r.program.functions.at(r.program.function_index.at(name));
}

inline std::vector<const graph::Node*> nodes_of(const graph::Function& f, graph::NodeKind k) {
  std::vector<const graph::Node*> out;
  for (const graph::Node& n : f.nodes)
    if (n.kind == k) out.push_back(&n);
  return out;
}

// The source-like rendering of `main`'s first `return` expression.
inline std::string returned(const CompileResult& r) {
  const graph::Function& f = fn(r, "main");
  for (const graph::Node& n : f.nodes)
    if (n.kind == graph::NodeKind::Return) return graph::expr_to_string(n.expr, &f, 10000);
  return "<no return>";
}

// "line:col: message" for each diagnostic.
inline std::vector<std::string> messages(const CompileResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics.list())
    out.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message);
  return out;
}

}  // namespace sgp::compiler::test
