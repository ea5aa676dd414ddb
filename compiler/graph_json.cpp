// JSON form of the execution graph, both directions.
#include "compiler/graph_json.h"

#include "compiler/builtins.h"
#include "sgp/error.h"

namespace sgp::graph {

using nlohmann::json;

namespace {

json loc_json(const SourceLoc& l) {
  return json::array({l.file, l.line, l.col});
}

SourceLoc loc_from(const json& j) {
  if (!j.is_array() || j.size() != 3) return {};
  return {j[0].get<int32_t>(), j[1].get<int32_t>(), j[2].get<int32_t>()};
}

json prefix_json(const std::vector<PrefixOp>& ops) {
  json a = json::array();
  for (const PrefixOp& op : ops)
    a.push_back({{"kind", node_kind_name(op.kind)}, {"text", op.text}});
  return a;
}

json lvalue_json(const LValue& lv) {
  json j = {{"slot", lv.slot}};
  if (lv.global) j["global"] = true;
  if (!lv.path.empty()) {
    json p = json::array();
    for (const Expr& e : lv.path) p.push_back(to_json(e));
    j["path"] = p;
  }
  return j;
}

json options_json(const std::vector<Option>& opts) {
  json a = json::array();
  for (const Option& o : opts)
    a.push_back({{"key", o.key}, {"value", to_json(o.value)}, {"constant", o.constant}});
  return a;
}

json node_json(const Node& n, NodeId id) {
  json j = {
      {"id", id}, {"kind", node_kind_name(n.kind)}, {"loc", loc_json(n.loc)}, {"next", n.next}};
  switch (n.kind) {
    case NodeKind::Append:
    case NodeKind::Eval:
    case NodeKind::Return:
    case NodeKind::Yield:
      j["expr"] = to_json(n.expr);
      break;
    case NodeKind::RoleBegin:
    case NodeKind::RoleEnd:
    case NodeKind::UseTemplate:
      j["name"] = n.name;
      break;
    case NodeKind::Gen:
      j["name"] = n.name;
      j["target"] = lvalue_json(n.target);
      j["options"] = options_json(n.options);
      break;
    case NodeKind::Select:
      j["name"] = n.name;
      j["choices"] = to_json(n.expr);
      j["target"] = lvalue_json(n.target);
      j["logprobs_slot"] = n.aux;
      j["options"] = options_json(n.options);
      break;
    case NodeKind::Call:
    case NodeKind::Spawn: {
      j["callee"] = n.name;
      j["callee_index"] = n.callee;
      json args = json::array();
      for (const Expr& a : n.args) args.push_back(to_json(a));
      j["args"] = args;
      j["target"] = lvalue_json(n.target);
      j["static_prefix"] = prefix_json(n.static_prefix);
      break;
    }
    case NodeKind::Fork:
      j["fork_kind"] = n.fork_kind == ForkKind::Count ? "count" : "each";
      j[n.fork_kind == ForkKind::Count ? "count" : "iterable"] = to_json(n.expr);
      j["var_slot"] = n.fork_var;
      j["body"] = n.body;
      j["join"] = n.join;
      j["value_used"] = n.value_used;
      j["prefix_nodes"] = n.prefix_nodes;
      j["prefix_end"] = n.prefix_end;
      j["static_prefix"] = prefix_json(n.static_prefix);
      break;
    case NodeKind::Join:
      j["fork"] = n.join;
      j["target"] = lvalue_json(n.target);
      break;
    case NodeKind::Branch:
      j["cond"] = to_json(n.expr);
      j["else"] = n.alt;
      break;
    case NodeKind::ForInit:
      j["iterable"] = to_json(n.expr);
      j["iter_slot"] = n.aux;
      break;
    case NodeKind::ForNext:
      j["iter_slot"] = n.aux;
      j["target"] = lvalue_json(n.target);
      j["exit"] = n.alt;
      break;
    case NodeKind::Assign:
      j["target"] = lvalue_json(n.target);
      j["expr"] = to_json(n.expr);
      break;
    case NodeKind::Nop:
      break;
  }
  if (n.kind == NodeKind::Yield) j["fork"] = n.join;
  if (!n.reads.empty()) j["reads"] = n.reads;
  return j;
}

}  // namespace

json to_json(const Expr& e) {
  json j = {{"op", expr_op_name(e.op)}};
  switch (e.op) {
    case ExprOp::Bool:
      j["value"] = e.b;
      break;
    case ExprOp::Int:
      j["value"] = e.i;
      break;
    case ExprOp::Float:
      j["value"] = e.f;
      break;
    case ExprOp::Str:
      j["value"] = e.s;
      break;
    case ExprOp::Local:
    case ExprOp::Global:
    case ExprOp::Const:
      j["slot"] = e.slot;
      if (!e.s.empty()) j["name"] = e.s;
      break;
    case ExprOp::Field:
      j["name"] = e.s;
      break;
    case ExprOp::Builtin:
      j["name"] = e.s;
      j["id"] = e.slot;
      break;
    default:
      break;
  }
  if (!e.kids.empty()) {
    json k = json::array();
    for (const Expr& c : e.kids) k.push_back(to_json(c));
    j["kids"] = k;
  }
  return j;
}

json to_json(const Program& p) {
  json fns = json::array();
  for (const Function& f : p.functions) {
    json params = json::array();
    for (const Param& pa : f.params) {
      json pj = {{"name", pa.name}};
      if (pa.has_default) pj["default"] = to_json(pa.default_value);
      params.push_back(pj);
    }
    json nodes = json::array();
    for (size_t i = 0; i < f.nodes.size(); ++i)
      nodes.push_back(node_json(f.nodes[i], static_cast<NodeId>(i)));
    fns.push_back({{"name", f.name},
                   {"module", f.module},
                   {"extern", f.is_extern},
                   {"loc", loc_json(f.loc)},
                   {"params", params},
                   {"locals", f.locals},
                   {"entry", f.entry},
                   {"static_prefix", prefix_json(f.static_prefix)},
                   {"nodes", nodes}});
  }
  json consts = json::array();
  for (const Const& c : p.consts)
    consts.push_back({{"name", c.name}, {"value", to_json(c.value)}, {"loc", loc_json(c.loc)}});
  json templates = json::object();
  for (const auto& [name, t] : p.templates) {
    json roles = json::object();
    for (const auto& [r, f] : t.roles) roles[r] = {{"prefix", f.prefix}, {"suffix", f.suffix}};
    templates[name] = {{"roles", roles},
                       {"bos", t.bos},
                       {"stop", t.stop},
                       {"generation_prefix", t.generation_prefix},
                       {"loc", loc_json(t.loc)}};
  }
  return {{"format", "sgp-graph"},
          {"version", 1},
          {"files", p.files},
          {"entry", p.entry},
          {"template", p.template_name},
          {"globals", p.globals},
          {"consts", consts},
          {"templates", templates},
          {"functions", fns}};
}

namespace {

template <typename E, typename F>
E enum_from(const std::string& name, int count, F namer) {
  for (int i = 0; i < count; ++i)
    if (name == namer(static_cast<E>(i))) return static_cast<E>(i);
  throw Error("graph JSON: unknown name '" + name + "'");
}

Expr expr_from(const json& j) {
  Expr e;
  e.op = enum_from<ExprOp>(j.at("op").get<std::string>(), static_cast<int>(ExprOp::Builtin) + 1,
                           expr_op_name);
  switch (e.op) {
    case ExprOp::Bool:
      e.b = j.at("value").get<bool>();
      break;
    case ExprOp::Int:
      e.i = j.at("value").get<int64_t>();
      break;
    case ExprOp::Float:
      e.f = j.at("value").get<double>();
      break;
    case ExprOp::Str:
      e.s = j.at("value").get<std::string>();
      break;
    case ExprOp::Local:
    case ExprOp::Global:
    case ExprOp::Const:
      e.slot = j.at("slot").get<int32_t>();
      e.s = j.value("name", "");
      break;
    case ExprOp::Field:
      e.s = j.at("name").get<std::string>();
      break;
    case ExprOp::Builtin: {
      e.s = j.at("name").get<std::string>();
      const Builtin* b = find_builtin(e.s);
      if (!b) throw Error("graph JSON: unknown builtin '" + e.s + "'");
      e.slot = static_cast<int32_t>(b->id);
      break;
    }
    default:
      break;
  }
  if (j.contains("kids"))
    for (const json& k : j["kids"]) e.kids.push_back(expr_from(k));
  return e;
}

LValue lvalue_from(const json& j) {
  LValue lv;
  lv.slot = j.at("slot").get<int32_t>();
  lv.global = j.value("global", false);
  if (j.contains("path"))
    for (const json& p : j["path"]) lv.path.push_back(expr_from(p));
  return lv;
}

std::vector<PrefixOp> prefix_from(const json& j) {
  std::vector<PrefixOp> out;
  for (const json& o : j)
    out.push_back({enum_from<NodeKind>(o.at("kind").get<std::string>(),
                                       static_cast<int>(NodeKind::Return) + 1, node_kind_name),
                   o.at("text").get<std::string>()});
  return out;
}

std::vector<Option> options_from(const json& j) {
  std::vector<Option> out;
  for (const json& o : j)
    out.push_back(
        {o.at("key").get<std::string>(), expr_from(o.at("value")), o.value("constant", false)});
  return out;
}

Node node_from(const json& j) {
  Node n;
  n.kind = enum_from<NodeKind>(j.at("kind").get<std::string>(),
                               static_cast<int>(NodeKind::Return) + 1, node_kind_name);
  n.loc = loc_from(j.at("loc"));
  n.next = j.at("next").get<NodeId>();
  auto ex = [&](const char* k) {
    if (j.contains(k)) n.expr = expr_from(j[k]);
  };
  ex("expr");
  ex("choices");
  ex("count");
  ex("iterable");
  ex("cond");
  n.name = j.value("name", j.value("callee", ""));
  if (j.contains("target")) n.target = lvalue_from(j["target"]);
  if (j.contains("options")) n.options = options_from(j["options"]);
  n.aux = j.value("logprobs_slot", j.value("iter_slot", kNoSlot));
  n.callee = j.value("callee_index", -1);
  if (j.contains("args"))
    for (const json& a : j["args"]) n.args.push_back(expr_from(a));
  if (j.contains("static_prefix")) n.static_prefix = prefix_from(j["static_prefix"]);
  n.fork_kind =
      j.value("fork_kind", "count") == std::string("each") ? ForkKind::Each : ForkKind::Count;
  n.fork_var = j.value("var_slot", kNoSlot);
  n.body = j.value("body", kEnd);
  n.join = j.value("join", j.value("fork", kEnd));
  n.value_used = j.value("value_used", false);
  if (j.contains("prefix_nodes")) n.prefix_nodes = j["prefix_nodes"].get<std::vector<NodeId>>();
  n.prefix_end = j.value("prefix_end", kEnd);
  n.alt = j.value("else", j.value("exit", n.kind == NodeKind::Fork ? n.join : kEnd));
  if (j.contains("reads")) n.reads = j["reads"].get<std::vector<int32_t>>();
  return n;
}

}  // namespace

Program program_from_json(const json& j) {
  try {
    if (j.value("format", "") != "sgp-graph") throw Error("not an sgp graph document");
    Program p;
    p.files = j.at("files").get<std::vector<std::string>>();
    p.entry = j.at("entry").get<int32_t>();
    p.template_name = j.value("template", "");
    p.globals = j.value("globals", std::vector<std::string>{});
    for (const json& c : j.at("consts"))
      p.consts.push_back(
          {c.at("name").get<std::string>(), expr_from(c.at("value")), loc_from(c.at("loc"))});
    for (const auto& [name, t] : j.at("templates").items()) {
      Template tp;
      tp.name = name;
      for (const auto& [r, f] : t.at("roles").items())
        tp.roles[r] = {f.at("prefix").get<std::string>(), f.at("suffix").get<std::string>()};
      tp.bos = t.value("bos", "");
      tp.stop = t.value("stop", std::vector<std::string>{});
      tp.generation_prefix = t.value("generation_prefix", "");
      tp.loc = loc_from(t.at("loc"));
      p.templates[name] = std::move(tp);
    }
    for (const json& fj : j.at("functions")) {
      Function f;
      f.name = fj.at("name").get<std::string>();
      f.module = fj.at("module").get<int32_t>();
      f.is_extern = fj.at("extern").get<bool>();
      f.loc = loc_from(fj.at("loc"));
      for (const json& pj : fj.at("params")) {
        Param pa;
        pa.name = pj.at("name").get<std::string>();
        pa.has_default = pj.contains("default");
        if (pa.has_default) pa.default_value = expr_from(pj["default"]);
        f.params.push_back(std::move(pa));
      }
      f.locals = fj.at("locals").get<std::vector<std::string>>();
      f.entry = fj.at("entry").get<NodeId>();
      f.static_prefix = prefix_from(fj.at("static_prefix"));
      for (const json& nj : fj.at("nodes")) f.nodes.push_back(node_from(nj));
      p.function_index[f.name] = static_cast<int32_t>(p.functions.size());
      p.functions.push_back(std::move(f));
    }
    return p;
  } catch (const json::exception& e) {
    throw Error(std::string("graph JSON: ") + e.what());
  }
}

}  // namespace sgp::graph
