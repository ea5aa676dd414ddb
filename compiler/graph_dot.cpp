// DOT rendering of the execution graph: one cluster per function, control edges solid,
// else/exit edges dashed, fork branches bold.
#include "compiler/graph_dot.h"

#include <nlohmann/json.hpp>

namespace sgp::graph {

namespace {

const char* binop(ExprOp op) {
  switch (op) {
    case ExprOp::Add:
      return " + ";
    case ExprOp::Sub:
      return " - ";
    case ExprOp::Mul:
      return " * ";
    case ExprOp::Div:
      return " / ";
    case ExprOp::FloorDiv:
      return " // ";
    case ExprOp::Mod:
      return " % ";
    case ExprOp::Eq:
      return " == ";
    case ExprOp::Ne:
      return " != ";
    case ExprOp::Lt:
      return " < ";
    case ExprOp::Le:
      return " <= ";
    case ExprOp::Gt:
      return " > ";
    case ExprOp::Ge:
      return " >= ";
    case ExprOp::And:
      return " and ";
    case ExprOp::Or:
      return " or ";
    default:
      return nullptr;
  }
}

std::string quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

void render(const Expr& e, const Function* fn, std::string& out) {
  auto list = [&](size_t from, const char* sep) {
    for (size_t i = from; i < e.kids.size(); ++i) {
      if (i > from) out += sep;
      render(e.kids[i], fn, out);
    }
  };
  switch (e.op) {
    case ExprOp::Null:
      out += "null";
      break;
    case ExprOp::Bool:
      out += e.b ? "true" : "false";
      break;
    case ExprOp::Int:
      out += std::to_string(e.i);
      break;
    case ExprOp::Float:
      out += nlohmann::json(e.f).dump();
      break;
    case ExprOp::Str:
      out += quote(e.s);
      break;
    case ExprOp::Interp:
      out += "\"";
      for (const Expr& k : e.kids) {
        if (k.op == ExprOp::Str) {
          std::string q = quote(k.s);
          out += q.substr(1, q.size() - 2);
        } else {
          out += "{";
          render(k, fn, out);
          out += "}";
        }
      }
      out += "\"";
      break;
    case ExprOp::List:
      out += "[";
      list(0, ", ");
      out += "]";
      break;
    case ExprOp::Map:
      out += "{";
      for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        if (i) out += ", ";
        render(e.kids[i], fn, out);
        out += ": ";
        render(e.kids[i + 1], fn, out);
      }
      out += "}";
      break;
    case ExprOp::Local:
      if (!e.s.empty())
        out += e.s;
      else if (fn && e.slot >= 0 && static_cast<size_t>(e.slot) < fn->locals.size())
        out += fn->locals[e.slot];
      else
        out += "$" + std::to_string(e.slot);
      break;
    case ExprOp::Global:
    case ExprOp::Const:
      out += e.s.empty() ? "$" + std::to_string(e.slot) : e.s;
      break;
    case ExprOp::Neg:
      out += "-";
      render(e.kids[0], fn, out);
      break;
    case ExprOp::Not:
      out += "not ";
      render(e.kids[0], fn, out);
      break;
    case ExprOp::Index:
      render(e.kids[0], fn, out);
      out += "[";
      render(e.kids[1], fn, out);
      out += "]";
      break;
    case ExprOp::Field:
      render(e.kids[0], fn, out);
      out += "." + e.s;
      break;
    case ExprOp::Builtin:
      out += e.s + "(";
      list(0, ", ");
      out += ")";
      break;
    default:
      out += "(";
      render(e.kids[0], fn, out);
      out += binop(e.op);
      render(e.kids[1], fn, out);
      out += ")";
      break;
  }
}

std::string slot_name(const Function& f, const LValue& lv) {
  if (lv.slot < 0) return "";
  std::string s;
  if (!lv.global && static_cast<size_t>(lv.slot) < f.locals.size())
    s = f.locals[lv.slot];
  else
    s.append(lv.global ? "global$" : "$").append(std::to_string(lv.slot));
  for (const Expr& p : lv.path) s.append("[").append(expr_to_string(p, &f, 20)).append("]");
  return s;
}

std::string label(const Function& f, const Node& n) {
  std::string k = node_kind_name(n.kind);
  auto ex = [&](const Expr& e) { return expr_to_string(e, &f); };
  switch (n.kind) {
    case NodeKind::Append:
      return "append " + ex(n.expr);
    case NodeKind::RoleBegin:
      return "begin " + n.name;
    case NodeKind::RoleEnd:
      return "end " + n.name;
    case NodeKind::UseTemplate:
      return "template " + n.name;
    case NodeKind::Gen: {
      std::string s = "gen " + n.name + "(";
      for (size_t i = 0; i < n.options.size(); ++i)
        s += (i ? ", " : "") + n.options[i].key + ": " + expr_to_string(n.options[i].value, &f, 24);
      return s + ")";
    }
    case NodeKind::Select:
      return "select " + n.name + " from " + ex(n.expr);
    case NodeKind::Call:
    case NodeKind::Spawn: {
      std::string s = (n.kind == NodeKind::Spawn ? "spawn " : "call ") + n.name + "(";
      for (size_t i = 0; i < n.args.size(); ++i)
        s += (i ? ", " : "") + expr_to_string(n.args[i], &f, 24);
      s += ")";
      std::string t = slot_name(f, n.target);
      if (!t.empty()) s = t + " = " + s;
      if (!n.static_prefix.empty())
        s += "\\nprefix: " + std::to_string(n.static_prefix.size()) + " ops";
      return s;
    }
    case NodeKind::Fork: {
      std::string s = n.fork_kind == ForkKind::Count
                          ? "fork " + ex(n.expr)
                          : "fork " + f.locals[n.fork_var] + " in " + ex(n.expr);
      if (!n.prefix_nodes.empty())
        s += "\\nshared prefix: " + std::to_string(n.prefix_nodes.size()) + " nodes";
      return s;
    }
    case NodeKind::Join: {
      std::string t = slot_name(f, n.target);
      return t.empty() ? "join" : "join -> " + t;
    }
    case NodeKind::Yield:
      return "yield " + ex(n.expr);
    case NodeKind::Branch:
      return "if " + ex(n.expr);
    case NodeKind::ForInit:
      return "iter = " + ex(n.expr);
    case NodeKind::ForNext:
      return "next " + slot_name(f, n.target);
    case NodeKind::Assign:
      return slot_name(f, n.target) + " = " + ex(n.expr);
    case NodeKind::Eval:
      return ex(n.expr);
    case NodeKind::Return:
      return "return " + ex(n.expr);
    case NodeKind::Nop:
      return k;
  }
  return k;
}

std::string escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {  // our own line breaks
      out += "\\n";
      ++i;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string expr_to_string(const Expr& e, const Function* fn, size_t max_len) {
  std::string out;
  render(e, fn, out);
  if (out.size() > max_len) {
    size_t cut = max_len;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

std::string to_dot(const Program& p) {
  std::string out = "digraph sgp {\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  for (size_t fi = 0; fi < p.functions.size(); ++fi) {
    const Function& f = p.functions[fi];
    std::string id = std::string("f").append(std::to_string(fi)).append("_");
    out += "  subgraph cluster_" + std::to_string(fi) + " {\n    label=\"" +
           escape((f.is_extern ? "extern fn " : "fn ") + f.name) + "\";\n";
    out += "    " + id + "start [shape=circle, label=\"\", width=0.15];\n";
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      const Node& n = f.nodes[i];
      std::string shape = n.kind == NodeKind::Branch || n.kind == NodeKind::ForNext ? "diamond"
                          : n.kind == NodeKind::Fork || n.kind == NodeKind::Join    ? "hexagon"
                          : n.kind == NodeKind::Gen || n.kind == NodeKind::Select
                              ? "box, style=filled, fillcolor=lightblue"
                              : "box";
      out += "    " + id + std::to_string(i) + " [shape=" + shape + ", label=\"" +
             escape(std::to_string(i) + ": " + label(f, n)) + "\"];\n";
    }
    if (f.entry != kEnd) out += "    " + id + "start -> " + id + std::to_string(f.entry) + ";\n";
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      const Node& n = f.nodes[i];
      std::string from = id + std::to_string(i);
      if (n.kind == NodeKind::Fork) {
        out += "    " + from + " -> " + id + std::to_string(n.body) +
               " [style=bold, label=\"branches\"];\n";
        out += "    " + from + " -> " + id + std::to_string(n.join) +
               " [style=dotted, label=\"join\"];\n";
        continue;
      }
      if (n.next != kEnd) {
        std::string lbl = n.kind == NodeKind::Branch ? " [label=\"then\"]" : "";
        out += "    " + from + " -> " + id + std::to_string(n.next) + lbl + ";\n";
      }
      if ((n.kind == NodeKind::Branch || n.kind == NodeKind::ForNext) && n.alt != kEnd)
        out += "    " + from + " -> " + id + std::to_string(n.alt) + " [style=dashed, label=\"" +
               (n.kind == NodeKind::Branch ? "else" : "exit") + "\"];\n";
    }
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

}  // namespace sgp::graph
