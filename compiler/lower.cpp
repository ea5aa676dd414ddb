// Lowering a checked AST to the execution graph: control flow becomes edges, effectful
// sub-expressions (calls, spawn, fork) become nodes, options are merged, prefixes computed.
#include "compiler/lower.h"

#include <functional>
#include <set>

#include "compiler/builtins.h"

namespace sgp::compiler {

namespace {

using namespace graph;
namespace A = sgp::ast;

enum class Edge : uint8_t { Next, Alt, Body };
struct Patch {
  NodeId node;
  Edge edge;
};

struct LoopCtx {
  NodeId header;
  std::vector<Patch> breaks;
};

struct ForkCtx {
  std::vector<NodeId> yields;
};

bool is_effectful(const A::Expr& e) {
  if (e.kind == A::ExprKind::Fork || e.kind == A::ExprKind::Spawn) return true;
  if (e.kind == A::ExprKind::Call && e.res.kind == A::Resolved::Function) return true;
  for (const auto& k : e.kids)
    if (is_effectful(*k)) return true;
  for (const auto& a : e.args)
    if (is_effectful(*a.value)) return true;
  return false;
}

void collect_reads(const Expr& e, std::set<int32_t>& out) {
  if (e.op == ExprOp::Local) out.insert(e.slot);
  for (const Expr& k : e.kids) collect_reads(k, out);
}

bool reads_slot(const Expr& e, int32_t slot) {
  if (e.op == ExprOp::Local && e.slot == slot) return true;
  for (const Expr& k : e.kids)
    if (reads_slot(k, slot)) return true;
  return false;
}

bool has_impure_builtin(const Expr& e) {
  if (e.op == ExprOp::Builtin && !builtins()[e.slot].pure) return true;
  for (const Expr& k : e.kids)
    if (has_impure_builtin(k)) return true;
  return false;
}

class FunctionLowering;

class Lowering {
 public:
  Lowering(ModuleSet& ms, const Symbols& sym, const SourceSet& sources)
      : ms_(ms), sym_(sym), sources_(sources) {}

  Program run() {
    Program p;
    for (int32_t i = 0; i < sources_.size(); ++i) p.files.push_back(sources_.at(i).path);
    p.globals = sym_.globals;
    p.template_name = sym_.template_name;
    p.entry = sym_.entry;
    for (const DeclRef& c : sym_.consts) {
      const A::ConstDecl& d = ms_.modules[c.module]->consts[c.decl];
      p.consts.push_back({c.name, expr_pure(*d.value, nullptr), d.loc});
    }
    for (const DeclRef& t : sym_.templates) p.templates[t.name] = make_template(t);
    for (size_t i = 0; i < sym_.functions.size(); ++i) {
      p.function_index[sym_.functions[i].name] = static_cast<int32_t>(i);
      p.functions.push_back(lower_function(static_cast<int32_t>(i)));
    }
    // Call sites learn their callee's constant prefix once every function is lowered.
    for (Function& f : p.functions)
      for (Node& n : f.nodes)
        if ((n.kind == NodeKind::Call || n.kind == NodeKind::Spawn) && n.callee >= 0)
          n.static_prefix = p.functions[n.callee].static_prefix;
    return p;
  }

  // Pure expression lowering (no node emission). `f` may be null outside functions.
  Expr expr_pure(const A::Expr& e, FunctionLowering* f);

  const Symbols& sym() const { return sym_; }
  ModuleSet& modules() { return ms_; }
  std::string const_text(int32_t index, bool& ok);

 private:
  ModuleSet& ms_;
  const Symbols& sym_;
  const SourceSet& sources_;

  Template make_template(const DeclRef& ref) {
    const A::TemplateDecl& d = ms_.modules[ref.module]->templates[ref.decl];
    Template t;
    t.name = d.name;
    t.loc = d.loc;
    for (const A::Option& f : d.fields) {
      const A::Expr& v = *f.value;
      if (f.key == "bos" && v.kind == A::ExprKind::Str)
        t.bos = v.s;
      else if (f.key == "generation_prefix" && v.kind == A::ExprKind::Str)
        t.generation_prefix = v.s;
      else if (f.key == "stop" && v.kind == A::ExprKind::List) {
        for (auto& k : v.kids) t.stop.push_back(k->s);
      } else if (v.kind == A::ExprKind::List && v.kids.size() == 2) {
        t.roles[f.key] = {v.kids[0]->s, v.kids[1]->s};
      }
    }
    return t;
  }

  Function lower_function(int32_t index);
};

// Lowers one function body; owns the node list and the open edges.
class FunctionLowering {
 public:
  FunctionLowering(Lowering& L, const A::FnDecl& decl, int32_t module, Function& out)
      : L_(L), decl_(decl), module_(module), fn_(out) {}

  void run() {
    fn_.locals = decl_.locals;
    open_.clear();
    entry_pending_ = true;
    block(decl_.body);
    fn_.entry = fn_.nodes.empty() ? kEnd : 0;
    for (Node& n : fn_.nodes) compute_reads(n);
    fn_.static_prefix = static_prefix_from(fn_.entry, kEnd);
  }

  int32_t temp() {
    fn_.locals.push_back("%t" + std::to_string(temps_++));
    return static_cast<int32_t>(fn_.locals.size() - 1);
  }

 private:
  Lowering& L_;
  const A::FnDecl& decl_;
  int32_t module_;
  Function& fn_;
  std::vector<Patch> open_;
  bool entry_pending_ = true;
  std::vector<LoopCtx> loops_;
  std::vector<ForkCtx> forks_;
  std::vector<const std::vector<A::Option>*> with_;  // enclosing `with` blocks, outermost first
  int temps_ = 0;

  void connect(const std::vector<Patch>& edges, NodeId to) {
    for (const Patch& p : edges) {
      Node& n = fn_.nodes[p.node];
      if (p.edge == Edge::Next)
        n.next = to;
      else if (p.edge == Edge::Alt)
        n.alt = to;
      else
        n.body = to;
    }
  }

  NodeId add(Node n) {
    NodeId id = static_cast<NodeId>(fn_.nodes.size());
    fn_.nodes.push_back(std::move(n));
    connect(open_, id);
    open_ = {{id, Edge::Next}};
    return id;
  }

  Node node(NodeKind k, SourceLoc loc) {
    Node n;
    n.kind = k;
    n.loc = loc;
    return n;
  }

  // ---- Statements ---------------------------------------------------------------------------

  void block(const A::Block& b) {
    for (const A::StmtPtr& s : b.stmts) stmt(*s);
  }

  LValue binding(const A::Stmt& s) const {
    LValue lv;
    lv.global = s.global;
    lv.slot = s.slot;
    return lv;
  }

  void stmt(const A::Stmt& s) {
    switch (s.kind) {
      case A::StmtKind::Let: {
        if (direct(*s.value, binding(s))) break;
        Expr v = expr(*s.value);
        Node n = node(NodeKind::Assign, s.loc);
        n.target = binding(s);
        n.expr = std::move(v);
        add(std::move(n));
        break;
      }
      case A::StmtKind::Assign: {
        if (s.target->kind == A::ExprKind::Name && direct(*s.value, lvalue(*s.target))) break;
        Expr v = expr(*s.value);
        Node n = node(NodeKind::Assign, s.loc);
        n.target = lvalue(*s.target);
        n.expr = std::move(v);
        add(std::move(n));
        break;
      }
      case A::StmtKind::Expr:
        expr_stmt(s);
        break;
      case A::StmtKind::If:
        if_stmt(s);
        break;
      case A::StmtKind::For: {
        Expr it = expr(*s.value);
        Node init = node(NodeKind::ForInit, s.loc);
        init.expr = std::move(it);
        init.aux = s.aux_slot;
        add(std::move(init));
        Node nx = node(NodeKind::ForNext, s.loc);
        nx.aux = s.aux_slot;
        nx.target = binding(s);
        NodeId header = add(std::move(nx));
        loops_.push_back({header, {{header, Edge::Alt}}});
        block(s.body);
        connect(open_, header);
        open_ = std::move(loops_.back().breaks);
        loops_.pop_back();
        break;
      }
      case A::StmtKind::While: {
        NodeId header = static_cast<NodeId>(fn_.nodes.size());
        Expr c = expr(*s.value);
        Node br = node(NodeKind::Branch, s.loc);
        br.expr = std::move(c);
        NodeId b = add(std::move(br));
        loops_.push_back({header, {{b, Edge::Alt}}});
        block(s.body);
        connect(open_, header);
        open_ = std::move(loops_.back().breaks);
        loops_.pop_back();
        break;
      }
      case A::StmtKind::Break:
        if (!loops_.empty()) {
          auto& br = loops_.back().breaks;
          br.insert(br.end(), open_.begin(), open_.end());
        }
        open_.clear();
        break;
      case A::StmtKind::Continue:
        if (!loops_.empty()) connect(open_, loops_.back().header);
        open_.clear();
        break;
      case A::StmtKind::Return: {
        Node n = node(NodeKind::Return, s.loc);
        if (s.value)
          n.expr = expr(*s.value);
        else
          n.expr.loc = s.loc;
        add(std::move(n));
        open_.clear();
        break;
      }
      case A::StmtKind::Yield: {
        Node n = node(NodeKind::Yield, s.loc);
        n.expr = expr(*s.value);
        NodeId id = add(std::move(n));
        if (!forks_.empty()) forks_.back().yields.push_back(id);
        open_.clear();
        break;
      }
      case A::StmtKind::Gen: {
        Node n = node(NodeKind::Gen, s.loc);
        n.name = s.name;
        n.target = binding(s);
        n.options = merged_options(s.options, false);
        add(std::move(n));
        break;
      }
      case A::StmtKind::Select: {
        Expr choices = expr(*s.value);
        Node n = node(NodeKind::Select, s.loc);
        n.name = s.name;
        n.expr = std::move(choices);
        n.target = binding(s);
        n.aux = s.aux_slot;
        n.options = merged_options(s.options, true);
        add(std::move(n));
        break;
      }
      case A::StmtKind::Role: {
        Node b = node(NodeKind::RoleBegin, s.loc);
        b.name = s.name;
        add(std::move(b));
        block(s.body);
        Node e = node(NodeKind::RoleEnd, s.body.end);
        e.name = s.name;
        add(std::move(e));
        break;
      }
      case A::StmtKind::With:
        with_.push_back(&s.options);
        block(s.body);
        with_.pop_back();
        break;
      case A::StmtKind::UseTemplate: {
        Node n = node(NodeKind::UseTemplate, s.loc);
        n.name = s.name;
        add(std::move(n));
        break;
      }
    }
  }

  // `x = f(...)`, `x = spawn f(...)`, `x = fork ...`: the node writes x itself (no temporary).
  bool direct(const A::Expr& e, const LValue& target) {
    if (e.kind == A::ExprKind::Call && e.res.kind == A::Resolved::Function) {
      call_node(e, NodeKind::Call, target);
      return true;
    }
    if (e.kind == A::ExprKind::Spawn) {
      call_node(*e.kids[0], NodeKind::Spawn, target);
      return true;
    }
    if (e.kind == A::ExprKind::Fork) {
      fork_node(e, target);
      return true;
    }
    return false;
  }

  static LValue slot_target(int32_t slot) {
    LValue lv;
    lv.slot = slot;
    return lv;
  }

  void expr_stmt(const A::Stmt& s) {
    const A::Expr& e = *s.value;
    if (e.kind == A::ExprKind::Call && e.res.kind == A::Resolved::Function) {
      call_node(e, NodeKind::Call, slot_target(kNoSlot));
      return;
    }
    if (e.kind == A::ExprKind::Spawn) {
      call_node(*e.kids[0], NodeKind::Spawn, slot_target(kNoSlot));
      return;
    }
    if (e.kind == A::ExprKind::Fork) {
      fork_node(e, slot_target(kNoSlot));
      return;
    }
    Expr v = expr(e);
    // Builtin calls on their own (print(x)) are run for their effect; everything else appends.
    Node n = node(e.kind == A::ExprKind::Call ? NodeKind::Eval : NodeKind::Append, s.loc);
    n.expr = std::move(v);
    add(std::move(n));
  }

  void if_stmt(const A::Stmt& s) {
    std::vector<Patch> done;
    auto arm = [&](const A::Expr& cond, const A::Block& body, SourceLoc loc) {
      Expr c = expr(cond);
      Node br = node(NodeKind::Branch, loc);
      br.expr = std::move(c);
      NodeId b = add(std::move(br));
      block(body);
      done.insert(done.end(), open_.begin(), open_.end());
      open_ = {{b, Edge::Alt}};
    };
    arm(*s.value, s.body, s.loc);
    for (const auto& [c, b] : s.elifs) arm(*c, b, c->loc);
    if (s.else_body) block(*s.else_body);
    done.insert(done.end(), open_.begin(), open_.end());
    open_ = std::move(done);
  }

  LValue lvalue(const A::Expr& t) {
    LValue lv;
    const A::Expr* cur = &t;
    std::vector<Expr> path;
    while (cur->kind == A::ExprKind::Index || cur->kind == A::ExprKind::Field) {
      if (cur->kind == A::ExprKind::Index) {
        path.push_back(expr(*cur->kids[1]));
      } else {
        Expr k;
        k.op = ExprOp::Str;
        k.s = cur->s;
        k.loc = cur->loc;
        path.push_back(std::move(k));
      }
      cur = cur->kids[0].get();
    }
    lv.global = cur->res.kind == A::Resolved::Global;
    lv.slot = cur->res.index;
    lv.path.assign(std::make_move_iterator(path.rbegin()), std::make_move_iterator(path.rend()));
    return lv;
  }

  std::vector<Option> merged_options(const std::vector<A::Option>& own, bool select) {
    std::vector<const A::Option*> chosen;
    auto put = [&](const A::Option& o) {
      if (select && o.key != "method") return;
      if (!select && o.key == "method") return;
      for (auto*& c : chosen)
        if (c->key == o.key) {
          c = &o;
          return;
        }
      chosen.push_back(&o);
    };
    for (const A::Option& o : L_.modules().modules[module_]->defaults) put(o);
    for (const auto* w : with_)
      for (const A::Option& o : *w) put(o);
    for (const A::Option& o : own) put(o);
    std::vector<Option> out;
    for (const A::Option* o : chosen) {
      Option opt;
      opt.key = o->key;
      opt.value = expr(*o->value);
      std::set<int32_t> reads;
      collect_reads(opt.value, reads);
      opt.constant = reads.empty() && !has_impure_builtin(opt.value) && !has_global(opt.value);
      out.push_back(std::move(opt));
    }
    return out;
  }

  static bool has_global(const Expr& e) {
    if (e.op == ExprOp::Global) return true;
    for (const Expr& k : e.kids)
      if (has_global(k)) return true;
    return false;
  }

  // ---- Effectful expressions ----------------------------------------------------------------

 public:
  // Lowers an expression; calls, spawns and forks inside it become nodes first.
  Expr expr(const A::Expr& e) {
    if (!is_effectful(e)) return L_.expr_pure(e, this);
    switch (e.kind) {
      case A::ExprKind::Call:
        if (e.res.kind == A::Resolved::Function) {
          int32_t t = temp();
          call_node(e, NodeKind::Call, slot_target(t));
          return local(t, e.loc);
        }
        break;
      case A::ExprKind::Spawn: {
        int32_t t = temp();
        call_node(*e.kids[0], NodeKind::Spawn, slot_target(t));
        return local(t, e.loc);
      }
      case A::ExprKind::Fork: {
        int32_t t = temp();
        fork_node(e, slot_target(t));
        return local(t, e.loc);
      }
      case A::ExprKind::Binary:
        if (e.s == "and" || e.s == "or") return short_circuit(e);
        break;
      default:
        break;
    }
    // A pure operator over effectful operands: hoist the operands in order, then combine.
    return L_.expr_pure(e, this);
  }

 private:
  Expr local(int32_t slot, SourceLoc loc) {
    Expr x;
    x.op = ExprOp::Local;
    x.slot = slot;
    x.loc = loc;
    return x;
  }

  Expr short_circuit(const A::Expr& e) {
    int32_t t = temp();
    Node a = node(NodeKind::Assign, e.loc);
    a.target.slot = t;
    a.expr = expr(*e.kids[0]);
    add(std::move(a));
    Node br = node(NodeKind::Branch, e.loc);
    br.expr = local(t, e.loc);
    NodeId b = add(std::move(br));
    // and: evaluate the right side only when the left is truthy; or: only when it is falsy.
    bool is_and = e.s == "and";
    std::vector<Patch> skip = {{b, is_and ? Edge::Alt : Edge::Next}};
    open_ = {{b, is_and ? Edge::Next : Edge::Alt}};
    Node r = node(NodeKind::Assign, e.kids[1]->loc);
    r.target.slot = t;
    r.expr = expr(*e.kids[1]);
    add(std::move(r));
    open_.insert(open_.end(), skip.begin(), skip.end());
    return local(t, e.loc);
  }

  void call_node(const A::Expr& call, NodeKind kind, const LValue& target) {
    int32_t callee = call.res.index;
    const DeclRef& ref = L_.sym().functions[callee];
    const A::FnDecl& decl = L_.modules().modules[ref.module]->fns[ref.decl];
    std::vector<Expr> args(decl.params.size());
    std::vector<bool> given(decl.params.size(), false);
    size_t pos = 0;
    for (const A::Arg& a : call.args) {
      size_t i = pos;
      if (a.name.empty()) {
        ++pos;
      } else {
        i = 0;
        while (i < decl.params.size() && decl.params[i].name != a.name) ++i;
      }
      if (i < args.size()) {
        args[i] = expr(*a.value);
        given[i] = true;
      }
    }
    for (size_t i = 0; i < args.size(); ++i)
      if (!given[i] && decl.params[i].default_value)
        args[i] = L_.expr_pure(*decl.params[i].default_value, nullptr);
    Node n = node(kind, call.loc);
    n.callee = callee;
    n.name = ref.name;
    n.args = std::move(args);
    n.target = target;
    add(std::move(n));
  }

  void fork_node(const A::Expr& e, const LValue& target) {
    Node f = node(NodeKind::Fork, e.loc);
    f.expr = expr(*e.kids[0]);
    f.fork_kind = e.fork_var.empty() ? ForkKind::Count : ForkKind::Each;
    f.fork_var = e.fork_slot;
    f.value_used = e.value_used;
    NodeId fid = add(std::move(f));
    open_ = {{fid, Edge::Body}};
    forks_.push_back({});
    auto saved_loops = std::move(loops_);
    loops_.clear();
    block(*e.body);
    loops_ = std::move(saved_loops);
    std::vector<NodeId> yields = std::move(forks_.back().yields);
    forks_.pop_back();
    for (NodeId y : yields) open_.push_back({y, Edge::Next});
    Node j = node(NodeKind::Join, e.body->end);
    j.target = target;
    j.join = fid;
    NodeId jid = add(std::move(j));
    Node& fork = fn_.nodes[fid];
    fork.next = jid;
    fork.alt = jid;
    fork.join = jid;
    if (fork.body == kEnd) fork.body = jid;  // empty body
    for (NodeId y : yields) fn_.nodes[y].join = fid;
    // Shared prefix: leading state operations that don't depend on the branch.
    NodeId cur = fork.body;
    while (cur != jid && cur != kEnd) {
      const Node& n = fn_.nodes[cur];
      bool state_op = n.kind == NodeKind::Append || n.kind == NodeKind::RoleBegin ||
                      n.kind == NodeKind::RoleEnd;
      if (!state_op) break;
      if (n.kind == NodeKind::Append &&
          ((fork.fork_var != kNoSlot && reads_slot(n.expr, fork.fork_var)) ||
           has_impure_builtin(n.expr)))
        break;
      fn_.nodes[fid].prefix_nodes.push_back(cur);
      cur = n.next;
    }
    fn_.nodes[fid].prefix_end = cur;
    fn_.nodes[fid].static_prefix = static_prefix_from(fn_.nodes[fid].body, jid);
  }

  // Leading compile-time-constant state operations from `start` (stopping at `stop`).
  std::vector<PrefixOp> static_prefix_from(NodeId start, NodeId stop) {
    std::vector<PrefixOp> out;
    for (NodeId cur = start; cur != kEnd && cur != stop;) {
      const Node& n = fn_.nodes[cur];
      if (n.kind == NodeKind::RoleBegin || n.kind == NodeKind::RoleEnd) {
        out.push_back({n.kind, n.name});
      } else if (n.kind == NodeKind::Append) {
        std::string text;
        if (!constant_text(n.expr, text)) break;
        out.push_back({n.kind, std::move(text)});
      } else {
        break;
      }
      cur = n.next;
    }
    return out;
  }

  bool constant_text(const Expr& e, std::string& out) {
    switch (e.op) {
      case ExprOp::Str:
        out += e.s;
        return true;
      case ExprOp::Int:
        out += std::to_string(e.i);
        return true;
      case ExprOp::Interp:
        for (const Expr& k : e.kids)
          if (!constant_text(k, out)) return false;
        return true;
      case ExprOp::Const: {
        bool ok = false;
        out += L_.const_text(e.slot, ok);
        return ok;
      }
      default:
        return false;
    }
  }

  void compute_reads(Node& n) {
    std::set<int32_t> r;
    collect_reads(n.expr, r);
    for (const Expr& a : n.args) collect_reads(a, r);
    for (const Option& o : n.options) collect_reads(o.value, r);
    for (const Expr& p : n.target.path) collect_reads(p, r);
    if (!n.target.path.empty() && !n.target.global && n.target.slot >= 0) r.insert(n.target.slot);
    n.reads.assign(r.begin(), r.end());
  }
};

std::string Lowering::const_text(int32_t index, bool& ok) {
  ok = false;
  const DeclRef& c = sym_.consts[index];
  const A::Expr& v = *ms_.modules[c.module]->consts[c.decl].value;
  if (v.kind == A::ExprKind::Str) {
    ok = true;
    return v.s;
  }
  if (v.kind == A::ExprKind::Int) {
    ok = true;
    return std::to_string(v.i);
  }
  return {};
}

Expr Lowering::expr_pure(const A::Expr& e, FunctionLowering* f) {
  Expr x;
  x.loc = e.loc;
  auto kids = [&](ExprOp op) {
    x.op = op;
    for (const auto& k : e.kids) x.kids.push_back(f ? f->expr(*k) : expr_pure(*k, nullptr));
  };
  switch (e.kind) {
    case A::ExprKind::Null:
      x.op = ExprOp::Null;
      break;
    case A::ExprKind::Bool:
      x.op = ExprOp::Bool;
      x.b = e.b;
      break;
    case A::ExprKind::Int:
      x.op = ExprOp::Int;
      x.i = e.i;
      break;
    case A::ExprKind::Float:
      x.op = ExprOp::Float;
      x.f = e.f;
      break;
    case A::ExprKind::Str:
      x.op = ExprOp::Str;
      x.s = e.s;
      break;
    case A::ExprKind::Interp:
      kids(ExprOp::Interp);
      break;
    case A::ExprKind::List:
      kids(ExprOp::List);
      break;
    case A::ExprKind::Map:
      kids(ExprOp::Map);
      break;
    case A::ExprKind::Name:
      x.op = e.res.kind == A::Resolved::Global  ? ExprOp::Global
             : e.res.kind == A::Resolved::Const ? ExprOp::Const
                                                : ExprOp::Local;
      x.slot = e.res.index;
      x.s = e.s;
      break;
    case A::ExprKind::Unary:
      kids(e.s == "not" ? ExprOp::Not : ExprOp::Neg);
      break;
    case A::ExprKind::Binary: {
      static const std::pair<const char*, ExprOp> ops[] = {
          {"+", ExprOp::Add},       {"-", ExprOp::Sub}, {"*", ExprOp::Mul}, {"/", ExprOp::Div},
          {"//", ExprOp::FloorDiv}, {"%", ExprOp::Mod}, {"==", ExprOp::Eq}, {"!=", ExprOp::Ne},
          {"<", ExprOp::Lt},        {"<=", ExprOp::Le}, {">", ExprOp::Gt},  {">=", ExprOp::Ge},
          {"and", ExprOp::And},     {"or", ExprOp::Or}};
      ExprOp op = ExprOp::Add;
      for (auto& [s, o] : ops)
        if (e.s == s) op = o;
      kids(op);
      break;
    }
    case A::ExprKind::Index:
      kids(ExprOp::Index);
      break;
    case A::ExprKind::Field:
      if (e.res.kind == A::Resolved::Const || e.res.kind == A::Resolved::Local) {
        x.op = e.res.kind == A::Resolved::Const ? ExprOp::Const : ExprOp::Local;
        x.slot = e.res.index;
        x.s = e.kids[0]->s + "." + e.s;
        break;
      }
      kids(ExprOp::Field);
      x.s = e.s;
      break;
    case A::ExprKind::Call:
      // Only builtins reach here; user calls were hoisted into Call nodes.
      x.op = ExprOp::Builtin;
      x.slot = e.res.index;
      x.s = e.kids[0]->s;
      for (const auto& a : e.args)
        x.kids.push_back(f ? f->expr(*a.value) : expr_pure(*a.value, nullptr));
      break;
    default:
      x.op = ExprOp::Null;
      break;
  }
  return x;
}

Function Lowering::lower_function(int32_t index) {
  const DeclRef& ref = sym_.functions[index];
  const A::FnDecl& decl = ms_.modules[ref.module]->fns[ref.decl];
  Function fn;
  fn.name = ref.name;
  fn.module = ms_.modules[ref.module]->file;
  fn.is_extern = decl.is_extern;
  fn.loc = decl.loc;
  for (const A::Param& p : decl.params) {
    Param gp;
    gp.name = p.name;
    gp.has_default = p.default_value != nullptr;
    if (p.default_value) gp.default_value = expr_pure(*p.default_value, nullptr);
    fn.params.push_back(std::move(gp));
  }
  if (decl.is_extern) {
    for (const A::Param& p : decl.params) fn.locals.push_back(p.name);
    return fn;
  }
  FunctionLowering fl(*this, decl, ref.module, fn);
  fl.run();
  return fn;
}

}  // namespace

graph::Program lower_program(ModuleSet& modules, const Symbols& symbols, const SourceSet& sources) {
  Lowering l(modules, symbols, sources);
  return l.run();
}

}  // namespace sgp::compiler
