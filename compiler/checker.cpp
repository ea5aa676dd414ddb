// Name resolution and semantic checks: every error is reported, none stops the walk.
#include "compiler/checker.h"

#include <algorithm>
#include <optional>
#include <set>

#include "compiler/builtins.h"
#include "compiler/constraint_literals.h"

namespace sgp::compiler {

namespace {

using namespace ast;

// Statically known type of a literal expression (Unknown for anything computed at run time).
enum class LitType { Unknown, Null, Bool, Int, Float, Str, List, Map };

const char* lit_name(LitType t) {
  switch (t) {
    case LitType::Null:
      return "null";
    case LitType::Bool:
      return "bool";
    case LitType::Int:
      return "int";
    case LitType::Float:
      return "float";
    case LitType::Str:
      return "str";
    case LitType::List:
      return "list";
    case LitType::Map:
      return "map";
    default:
      return "value";
  }
}

enum class OptType {
  NonNegInt,
  Int,
  Number,
  NonNegNumber,
  UnitNumber,
  PosNumber,
  Bool,
  StrOrStrList,
  IntList,
  Str,
  Schema,
  StrList,
  Method
};

struct OptSpec {
  const char* name;
  OptType type;
  bool gen;
  bool select;
};

constexpr OptSpec kOptions[] = {
    {"max_tokens", OptType::NonNegInt, true, false},
    {"min_tokens", OptType::NonNegInt, true, false},
    {"stop", OptType::StrOrStrList, true, false},
    {"stop_token_ids", OptType::IntList, true, false},
    {"temperature", OptType::NonNegNumber, true, false},
    {"top_p", OptType::UnitNumber, true, false},
    {"top_k", OptType::NonNegInt, true, false},
    {"min_p", OptType::UnitNumber, true, false},
    {"frequency_penalty", OptType::Number, true, false},
    {"presence_penalty", OptType::Number, true, false},
    {"repetition_penalty", OptType::PosNumber, true, false},
    {"seed", OptType::Int, true, false},
    {"ignore_eos", OptType::Bool, true, false},
    {"logprobs", OptType::NonNegInt, true, false},
    {"regex", OptType::Str, true, false},
    {"json", OptType::Schema, true, false},
    {"choices", OptType::StrList, true, false},
    {"method", OptType::Method, false, true},
};

const OptSpec* find_option(const std::string& name) {
  for (const OptSpec& o : kOptions)
    if (name == o.name) return &o;
  return nullptr;
}

enum class OptContext { Gen, Select, Defaults };

const std::set<std::string> kRoles = {"system", "user", "assistant", "tool"};

struct Binding {
  int32_t slot = -1;
  bool global = false;
  int32_t logprobs = -1;  // select-bound: slot of `name.logprobs`
};

struct Scope {
  std::map<std::string, Binding> names;
};

class Checker {
 public:
  Checker(ModuleSet& ms, const CheckOptions& opt, Diagnostics& diags, Symbols& sym)
      : ms_(ms), opt_(opt), diags_(diags), sym_(sym) {}

  bool run() {
    size_t before = diags_.count();
    declare();
    for (size_t m = 0; m < ms_.modules.size(); ++m) check_module(static_cast<int32_t>(m));
    if (opt_.require_main && sym_.entry < 0)
      diags_.error({ms_.modules[0]->file, 1, 1}, "no 'main' function: `sgrun run` starts there");
    return diags_.count() == before;
  }

 private:
  ModuleSet& ms_;
  const CheckOptions& opt_;
  Diagnostics& diags_;
  Symbols& sym_;

  // Per-function state.
  int32_t module_ = 0;
  FnDecl* fn_ = nullptr;
  std::vector<Scope> scopes_;
  int loop_depth_ = 0;
  std::vector<int> fork_loop_depth_;  // loop depth outside each enclosing fork body
  int role_depth_ = 0;
  std::set<int32_t> returns_value_;  // function indexes with a `return expr`

  void error(Loc l, std::string msg) { diags_.error(l, std::move(msg)); }

  std::string line_of(Loc l) { return "line " + std::to_string(l.line); }

  // ---- Declarations -------------------------------------------------------------------------

  void declare() {
    sym_.scopes.resize(ms_.modules.size());
    std::map<std::string, Loc> template_locs;
    for (size_t mi = 0; mi < ms_.modules.size(); ++mi) {
      Module& m = *ms_.modules[mi];
      Symbols::Scope& sc = sym_.scopes[mi];
      std::string prefix = mi == 0 ? "" : alias_of(static_cast<int32_t>(mi)) + ".";
      std::map<std::string, Loc> seen;
      auto dup = [&](const std::string& name, Loc l) {
        auto it = seen.find(name);
        if (it != seen.end()) {
          error(l, "duplicate definition of '" + name + "' (first defined on " +
                       line_of(it->second) + ")");
          return true;
        }
        seen[name] = l;
        return false;
      };
      for (auto& imp : m.imports) {
        if (imp.alias.empty()) continue;
        if (dup(imp.alias, imp.loc)) continue;
        sc.aliases[imp.alias] = imp.module;
      }
      for (size_t i = 0; i < m.consts.size(); ++i) {
        ConstDecl& c = m.consts[i];
        if (dup(c.name, c.loc)) continue;
        sc.consts[c.name] = static_cast<int32_t>(sym_.consts.size());
        sym_.consts.push_back({static_cast<int32_t>(mi), static_cast<int32_t>(i), prefix + c.name});
      }
      for (size_t i = 0; i < m.fns.size(); ++i) {
        FnDecl& f = m.fns[i];
        if (!f.repl && graph::find_builtin(f.name)) {
          error(f.loc, "'" + f.name + "' is a builtin function; choose another name");
          continue;
        }
        if (dup(f.name, f.loc)) continue;
        int32_t index = static_cast<int32_t>(sym_.functions.size());
        sc.fns[f.name] = index;
        sym_.functions.push_back(
            {static_cast<int32_t>(mi), static_cast<int32_t>(i), prefix + f.name});
        if (mi == 0 && f.name == "main" && !f.is_extern) sym_.entry = index;
        if (has_value_return(f.body)) returns_value_.insert(index);
        std::set<std::string> params;
        for (const Param& p : f.params)
          if (!params.insert(p.name).second) error(p.loc, "duplicate parameter '" + p.name + "'");
      }
      for (size_t i = 0; i < m.templates.size(); ++i) {
        TemplateDecl& t = m.templates[i];
        auto it = template_locs.find(t.name);
        if (it != template_locs.end()) {
          error(t.loc, "duplicate template '" + t.name + "'");
          continue;
        }
        template_locs[t.name] = t.loc;
        sym_.templates.push_back({static_cast<int32_t>(mi), static_cast<int32_t>(i), t.name});
      }
    }
  }

  std::string alias_of(int32_t module) {
    for (auto& m : ms_.modules)
      for (auto& imp : m->imports)
        if (imp.module == module && !imp.alias.empty()) return imp.alias;
    std::string p = ms_.modules[module]->path;
    size_t slash = p.find_last_of('/');
    std::string stem = p.substr(slash == std::string::npos ? 0 : slash + 1);
    if (stem.size() > 4 && stem.ends_with(".sgp")) stem.resize(stem.size() - 4);
    return stem;
  }

  static bool has_value_return(const Block& b) {
    for (const StmtPtr& s : b.stmts) {
      if (s->kind == StmtKind::Return && s->value) return true;
      if (has_value_return(s->body)) return true;
      for (auto& [c, blk] : s->elifs)
        if (has_value_return(blk)) return true;
      if (s->else_body && has_value_return(*s->else_body)) return true;
    }
    return false;
  }

  // ---- Modules ------------------------------------------------------------------------------

  void check_module(int32_t mi) {
    module_ = mi;
    Module& m = *ms_.modules[mi];
    fn_ = nullptr;
    for (ConstDecl& c : m.consts) {
      check_const_expr(*c.value, "a constant's value");
    }
    for (TemplateDecl& t : m.templates) check_template(t);
    check_options(m.defaults, OptContext::Defaults);
    for (auto& [name, l] : m.use_templates) {
      check_template_name(name, l);
      if (mi == 0) sym_.template_name = name;
    }
    if (!m.top_stmts.empty() && !opt_.allow_top_statements)
      error(m.top_stmts[0]->loc, "statements must be inside a function (e.g. fn main() { ... })");
    for (FnDecl& f : m.fns) check_fn(f);
  }

  void check_template_name(const std::string& name, Loc l) {
    for (const DeclRef& t : sym_.templates)
      if (t.name == name) return;
    error(l, "unknown chat template \"" + name + "\" (declare it with `template " + name +
                 " { ... }` or add stdlib/templates/" + name + ".sgp)");
  }

  void check_template(TemplateDecl& t) {
    std::set<std::string> seen;
    for (Option& f : t.fields) {
      if (!seen.insert(f.key).second) error(f.loc, "duplicate template field '" + f.key + "'");
      LitType ty = check_const_expr(*f.value, "a template field");
      if (kRoles.count(f.key)) {
        bool ok = f.value->kind == ExprKind::List && f.value->kids.size() == 2 &&
                  f.value->kids[0]->kind == ExprKind::Str &&
                  f.value->kids[1]->kind == ExprKind::Str;
        if (!ok)
          error(f.value->loc, "template role '" + f.key + "' must be [\"prefix\", \"suffix\"]");
      } else if (f.key == "bos" || f.key == "generation_prefix") {
        if (f.value->kind != ExprKind::Str)
          error(f.value->loc, "template field '" + f.key + "' must be a string");
      } else if (f.key == "stop") {
        if (!is_str_list(*f.value))
          error(f.value->loc, "template field 'stop' must be a list of strings");
      } else {
        error(f.loc, "unknown template field '" + f.key +
                         "' (known: system, user, assistant, tool, bos, stop, generation_prefix)");
      }
      (void)ty;
    }
  }

  static bool is_str_list(const Expr& e) {
    if (e.kind != ExprKind::List) return false;
    for (auto& k : e.kids)
      if (k->kind != ExprKind::Str) return false;
    return true;
  }

  // Literals, lists/maps of them, constants and operators. Returns the literal's type.
  LitType check_const_expr(Expr& e, const char* what) {
    switch (e.kind) {
      case ExprKind::Null:
        return LitType::Null;
      case ExprKind::Bool:
        return LitType::Bool;
      case ExprKind::Int:
        return LitType::Int;
      case ExprKind::Float:
        return LitType::Float;
      case ExprKind::Str:
        return LitType::Str;
      case ExprKind::List:
        for (auto& k : e.kids) check_const_expr(*k, what);
        return LitType::List;
      case ExprKind::Map:
        for (auto& k : e.kids) check_const_expr(*k, what);
        check_map_keys(e);
        return LitType::Map;
      case ExprKind::Unary:
        return check_const_expr(*e.kids[0], what);
      case ExprKind::Binary:
        check_const_expr(*e.kids[0], what);
        check_const_expr(*e.kids[1], what);
        return LitType::Unknown;
      case ExprKind::Interp:
        for (auto& k : e.kids) check_const_expr(*k, what);
        return LitType::Str;
      case ExprKind::Name: {
        auto& sc = sym_.scopes[module_];
        auto it = sc.consts.find(e.s);
        if (it != sc.consts.end()) {
          const DeclRef& c = sym_.consts[it->second];
          if (c.module == module_ && fn_ == nullptr && !declared_before(c, e.loc)) {
            error(e.loc, "constant '" + e.s + "' is used before its definition");
            return LitType::Unknown;
          }
          e.res = {Resolved::Const, it->second};
          return LitType::Unknown;
        }
        error(e.loc, std::string(what) + " must be constant; '" + e.s + "' is not a constant");
        return LitType::Unknown;
      }
      case ExprKind::Field:
        if (e.kids[0]->kind == ExprKind::Name && resolve_module_member(e)) return LitType::Unknown;
        [[fallthrough]];
      default:
        error(e.loc, std::string(what) + " must be a constant expression");
        return LitType::Unknown;
    }
  }

  bool declared_before(const DeclRef& c, Loc use) {
    const Loc& def = ms_.modules[c.module]->consts[c.decl].loc;
    return def.line < use.line || (def.line == use.line && def.col < use.col);
  }

  void check_map_keys(const Expr& e) {
    std::set<std::string> keys;
    for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
      const Expr& k = *e.kids[i];
      if (k.kind == ExprKind::Str) {
        if (!keys.insert(k.s).second) error(k.loc, "duplicate map key \"" + k.s + "\"");
      } else if (k.kind != ExprKind::Interp && k.kind != ExprKind::Name &&
                 k.kind != ExprKind::Call && k.kind != ExprKind::Index &&
                 k.kind != ExprKind::Field && k.kind != ExprKind::Binary) {
        error(k.loc, "map keys must be strings");
      }
    }
  }

  // `alias.NAME` for a constant of an imported module. Returns true if it resolved.
  bool resolve_module_member(Expr& e) {
    const Expr& base = *e.kids[0];
    if (lookup_local(base.s)) return false;
    auto& sc = sym_.scopes[module_];
    auto it = sc.aliases.find(base.s);
    if (it == sc.aliases.end()) return false;
    if (it->second < 0) return true;  // module failed to load: already reported
    auto& target = sym_.scopes[it->second];
    auto c = target.consts.find(e.s);
    if (c != target.consts.end()) {
      e.res = {Resolved::Const, c->second};
      return true;
    }
    if (target.fns.count(e.s))
      error(e.loc, "'" + base.s + "." + e.s + "' is a function; call it");
    else
      error(e.loc, "module '" + base.s + "' has no constant or function '" + e.s + "'");
    return true;
  }

  // ---- Options ------------------------------------------------------------------------------

  static LitType literal_type(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Null:
        return LitType::Null;
      case ExprKind::Bool:
        return LitType::Bool;
      case ExprKind::Int:
        return LitType::Int;
      case ExprKind::Float:
        return LitType::Float;
      case ExprKind::Str:
        return LitType::Str;
      case ExprKind::List:
        return LitType::List;
      case ExprKind::Map:
        return LitType::Map;
      case ExprKind::Unary:
        if (e.s == "-" && (e.kids[0]->kind == ExprKind::Int || e.kids[0]->kind == ExprKind::Float))
          return literal_type(*e.kids[0]);
        return LitType::Unknown;
      default:
        return LitType::Unknown;
    }
  }

  static double literal_number(const Expr& e) {
    if (e.kind == ExprKind::Unary) return -literal_number(*e.kids[0]);
    return e.kind == ExprKind::Int ? static_cast<double>(e.i) : e.f;
  }

  void check_options(std::vector<Option>& opts, OptContext ctx) {
    std::set<std::string> seen;
    int constraints = 0;
    for (Option& o : opts) {
      if (!seen.insert(o.key).second) error(o.loc, "duplicate option '" + o.key + "'");
      expr(*o.value);
      const OptSpec* spec = find_option(o.key);
      bool allowed =
          spec && (ctx == OptContext::Defaults || (ctx == OptContext::Gen && spec->gen) ||
                   (ctx == OptContext::Select && spec->select));
      if (!allowed) {
        const char* what = ctx == OptContext::Gen      ? "gen"
                           : ctx == OptContext::Select ? "select"
                                                       : "generation";
        std::string hint = ctx == OptContext::Select ? " (select accepts: method)" : "";
        if (!spec) {
          // Suggest the closest known name for a typo.
          for (const OptSpec& k : kOptions)
            if (close(o.key, k.name)) hint = " (did you mean '" + std::string(k.name) + "'?)";
        }
        error(o.loc, std::string("unknown ") + what + " option '" + o.key + "'" + hint);
        continue;
      }
      if (o.key == "regex" || o.key == "json" || o.key == "choices") ++constraints;
      check_option_value(o, *spec);
      check_constraint_literal(o, diags_);
    }
    if (constraints > 1 && ctx == OptContext::Gen)
      error(opts.front().loc, "gen takes at most one of the constraints regex, json and choices");
  }

  static bool close(const std::string& a, const std::string& b) {
    // Edit distance <= 2, enough for typos like max_token / temprature.
    size_t n = a.size(), m = b.size();
    if (n > m + 2 || m > n + 2) return false;
    std::vector<size_t> prev(m + 1), cur(m + 1);
    for (size_t j = 0; j <= m; ++j) prev[j] = j;
    for (size_t i = 1; i <= n; ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= m; ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      std::swap(prev, cur);
    }
    return prev[m] <= (std::min(n, m) >= 6 ? 2u : 1u);
  }

  void check_option_value(const Option& o, const OptSpec& spec) {
    const Expr& v = *o.value;
    LitType t = literal_type(v);
    if (t == LitType::Unknown) return;  // computed at run time; the runtime checks it
    auto bad = [&](const char* expected) {
      error(v.loc, "option '" + o.key + "' expects " + expected + ", found " + lit_name(t));
    };
    bool number = t == LitType::Int || t == LitType::Float;
    switch (spec.type) {
      case OptType::NonNegInt:
        if (t != LitType::Int)
          bad("an integer");
        else if (literal_number(v) < 0)
          error(v.loc, "option '" + o.key + "' must not be negative");
        break;
      case OptType::Int:
        if (t != LitType::Int) bad("an integer");
        break;
      case OptType::Number:
        if (!number) bad("a number");
        break;
      case OptType::NonNegNumber:
        if (!number)
          bad("a number");
        else if (literal_number(v) < 0)
          error(v.loc, "option '" + o.key + "' must not be negative");
        break;
      case OptType::UnitNumber:
        if (!number)
          bad("a number");
        else if (literal_number(v) < 0 || literal_number(v) > 1)
          error(v.loc, "option '" + o.key + "' must be between 0 and 1");
        break;
      case OptType::PosNumber:
        if (!number)
          bad("a number");
        else if (literal_number(v) <= 0)
          error(v.loc, "option '" + o.key + "' must be positive");
        break;
      case OptType::Bool:
        if (t != LitType::Bool) bad("true or false");
        break;
      case OptType::Str:
        if (t != LitType::Str) bad("a string");
        break;
      case OptType::StrOrStrList:
        if (t == LitType::List) {
          for (auto& k : v.kids)
            if (literal_type(*k) != LitType::Str && literal_type(*k) != LitType::Unknown)
              error(k->loc,
                    "option '" + o.key + "' expects strings, found " + lit_name(literal_type(*k)));
        } else if (t != LitType::Str) {
          bad("a string or a list of strings");
        }
        break;
      case OptType::StrList:
      case OptType::IntList: {
        LitType want = spec.type == OptType::StrList ? LitType::Str : LitType::Int;
        if (t != LitType::List) {
          bad(spec.type == OptType::StrList ? "a list of strings" : "a list of integers");
          break;
        }
        for (auto& k : v.kids) {
          LitType kt = literal_type(*k);
          if (kt != want && kt != LitType::Unknown)
            error(k->loc, "option '" + o.key + "' expects " + lit_name(want) + " items, found " +
                              lit_name(kt));
        }
        break;
      }
      case OptType::Schema:
        if (t != LitType::Map) bad("a JSON schema map");
        break;
      case OptType::Method:
        if (t != LitType::Str)
          bad("a string");
        else if (v.s != "normalized" && v.s != "greedy" && v.s != "unconditional")
          error(v.loc, "option 'method' must be \"normalized\", \"greedy\" or \"unconditional\"");
        break;
    }
  }

  // ---- Functions and statements -------------------------------------------------------------

  int32_t new_slot(const std::string& name) {
    fn_->locals.push_back(name);
    return static_cast<int32_t>(fn_->locals.size() - 1);
  }

  Binding* lookup_local(const std::string& name) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->names.find(name);
      if (f != it->names.end()) return &f->second;
    }
    return nullptr;
  }

  std::optional<Binding> lookup_global(const std::string& name) const {
    if (!fn_ || !fn_->repl) return std::nullopt;
    for (size_t i = 0; i < sym_.globals.size(); ++i)
      if (sym_.globals[i] == name) return Binding{static_cast<int32_t>(i), true, -1};
    return std::nullopt;
  }

  // Declares (or reuses) a variable binding in the innermost scope.
  Binding bind(const std::string& name, Loc l) {
    if (Binding* b = lookup_local(name)) return *b;
    if (std::optional<Binding> g = lookup_global(name)) return *g;
    if (sym_.scopes[module_].consts.count(name))
      error(l, "'" + name + "' is a constant; it cannot be rebound");
    Binding b;
    if (fn_->repl && scopes_.size() == 1) {
      sym_.globals.push_back(name);
      b = {static_cast<int32_t>(sym_.globals.size() - 1), true, -1};
      repl_globals_[name] = b;
    } else {
      b.slot = new_slot(name);
    }
    scopes_.back().names[name] = b;
    return b;
  }

  std::map<std::string, Binding> repl_globals_;

  void check_fn(FnDecl& f) {
    fn_ = &f;
    scopes_.assign(1, Scope{});
    loop_depth_ = 0;
    role_depth_ = 0;
    fork_loop_depth_.clear();
    f.locals.clear();
    bool seen_default = false;
    for (Param& p : f.params) {
      Binding b;
      b.slot = new_slot(p.name);
      scopes_.back().names[p.name] = b;
      if (p.default_value) {
        seen_default = true;
        check_const_expr(*p.default_value, "a default value");
      } else if (seen_default) {
        error(p.loc, "parameter '" + p.name + "' without a default follows one with a default");
      }
    }
    if (f.repl)
      for (auto& [name, b] : repl_globals_) scopes_.back().names[name] = b;
    if (!f.is_extern) block(f.body);
    fn_ = nullptr;
  }

  void block(Block& b) {
    for (StmtPtr& s : b.stmts) stmt(*s);
  }

  void stmt(Stmt& s) {
    switch (s.kind) {
      case StmtKind::Let: {
        expr(*s.value);
        Binding b = bind(s.name, s.name_loc);
        s.slot = b.slot;
        s.global = b.global;
        break;
      }
      case StmtKind::Assign: {
        expr(*s.value);
        assign_target(*s.target);
        break;
      }
      case StmtKind::Expr:
        if (s.value->kind == ExprKind::Fork || s.value->kind == ExprKind::Call ||
            s.value->kind == ExprKind::Spawn)
          s.value->value_used = false;
        expr(*s.value);
        break;
      case StmtKind::If:
        expr(*s.value);
        block(s.body);
        for (auto& [c, b] : s.elifs) {
          expr(*c);
          block(b);
        }
        if (s.else_body) block(*s.else_body);
        break;
      case StmtKind::For: {
        expr(*s.value);
        Binding b = bind(s.name, s.name_loc);
        s.slot = b.slot;
        s.global = b.global;
        s.aux_slot = new_slot("%iter");
        ++loop_depth_;
        block(s.body);
        --loop_depth_;
        break;
      }
      case StmtKind::While:
        expr(*s.value);
        ++loop_depth_;
        block(s.body);
        --loop_depth_;
        break;
      case StmtKind::Break:
      case StmtKind::Continue: {
        const char* word = s.kind == StmtKind::Break ? "break" : "continue";
        if (loop_depth_ == 0) {
          bool outer_loop = !fork_loop_depth_.empty() && fork_loop_depth_.back() > 0;
          error(s.loc, std::string("'") + word +
                           (outer_loop ? "' cannot leave a fork body" : "' outside a loop"));
        }
        break;
      }
      case StmtKind::Return:
        if (!fork_loop_depth_.empty()) error(s.loc, "'return' inside a fork body (use 'yield')");
        if (fn_->repl) error(s.loc, "'return' outside a function");
        if (s.value) expr(*s.value);
        break;
      case StmtKind::Yield:
        if (fork_loop_depth_.empty()) error(s.loc, "'yield' outside a fork body");
        expr(*s.value);
        break;
      case StmtKind::Gen: {
        check_options(s.options, OptContext::Gen);
        Binding b = bind(s.name, s.name_loc);
        s.slot = b.slot;
        s.global = b.global;
        break;
      }
      case StmtKind::Select: {
        expr(*s.value);
        LitType t = literal_type(*s.value);
        if (t != LitType::Unknown && t != LitType::List)
          error(s.value->loc, "select needs a list of choices, found " + std::string(lit_name(t)));
        else if (t == LitType::List && s.value->kids.empty())
          error(s.value->loc, "select needs at least one choice");
        check_options(s.options, OptContext::Select);
        Binding b = bind(s.name, s.name_loc);
        s.slot = b.slot;
        s.global = b.global;
        if (b.logprobs < 0) {
          int32_t lp = new_slot(s.name + ".logprobs");
          for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
            if (auto f = it->names.find(s.name); f != it->names.end()) {
              f->second.logprobs = lp;
              break;
            }
          b.logprobs = lp;
        }
        s.aux_slot = b.logprobs;
        break;
      }
      case StmtKind::Role:
        if (!kRoles.count(s.name))
          error(s.name_loc, "unknown role '" + s.name + "' (roles: assistant, system, tool, user)");
        if (role_depth_ > 0) error(s.name_loc, "role blocks cannot nest");
        ++role_depth_;
        block(s.body);
        --role_depth_;
        break;
      case StmtKind::With:
        check_options(s.options, OptContext::Defaults);
        block(s.body);
        break;
      case StmtKind::UseTemplate:
        check_template_name(s.name, s.name_loc);
        break;
    }
  }

  void assign_target(Expr& t) {
    switch (t.kind) {
      case ExprKind::Name: {
        if (Binding* b = lookup_local(t.s)) {
          t.res = {b->global ? Resolved::Global : Resolved::Local, b->slot};
        } else if (std::optional<Binding> g = lookup_global(t.s)) {
          t.res = {Resolved::Global, g->slot};
        } else if (sym_.scopes[module_].consts.count(t.s)) {
          error(t.loc, "cannot assign to constant '" + t.s + "'");
        } else {
          error(t.loc, "unknown variable '" + t.s + "' (declare it with 'let')");
        }
        break;
      }
      case ExprKind::Index:
        assign_target(*t.kids[0]);
        expr(*t.kids[1]);
        break;
      case ExprKind::Field:
        assign_target(*t.kids[0]);
        break;
      default:
        error(t.loc, "cannot assign to this expression");
    }
  }

  // ---- Expressions --------------------------------------------------------------------------

  LitType expr(Expr& e) {
    switch (e.kind) {
      case ExprKind::Null:
      case ExprKind::Bool:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::Str:
        return literal_type(e);
      case ExprKind::Interp:
        for (auto& k : e.kids) expr(*k);
        return LitType::Str;
      case ExprKind::List:
        for (auto& k : e.kids) expr(*k);
        return LitType::List;
      case ExprKind::Map:
        for (auto& k : e.kids) expr(*k);
        check_map_keys(e);
        return LitType::Map;
      case ExprKind::Name:
        name(e);
        return LitType::Unknown;
      case ExprKind::Unary: {
        LitType t = expr(*e.kids[0]);
        if (e.s == "-" && t != LitType::Unknown && t != LitType::Int && t != LitType::Float)
          error(e.loc, "operator '-' cannot be applied to " + std::string(lit_name(t)));
        return e.s == "-" ? t : LitType::Unknown;
      }
      case ExprKind::Binary:
        return binary(e);
      case ExprKind::Call:
        call(e);
        return LitType::Unknown;
      case ExprKind::Index:
        expr(*e.kids[0]);
        expr(*e.kids[1]);
        return LitType::Unknown;
      case ExprKind::Field:
        if (e.kids[0]->kind == ExprKind::Name) {
          if (resolve_module_member(e)) return LitType::Unknown;
          if (e.s == "logprobs") {
            if (Binding* b = lookup_local(e.kids[0]->s); b && b->logprobs >= 0) {
              e.res = {Resolved::Local, b->logprobs};
              return LitType::Unknown;
            }
          }
        }
        expr(*e.kids[0]);
        return LitType::Unknown;
      case ExprKind::Spawn: {
        Expr& c = *e.kids[0];
        if (c.kind != ExprKind::Call) {
          error(e.loc, "'spawn' needs a function call, e.g. spawn f(x)");
          expr(c);
          return LitType::Unknown;
        }
        call(c);
        if (c.res.kind == Resolved::Builtin)
          error(e.loc,
                "'spawn' runs a user or extern function, not the builtin '" + c.kids[0]->s + "'");
        return LitType::Unknown;
      }
      case ExprKind::Fork:
        fork(e);
        return LitType::List;
    }
    return LitType::Unknown;
  }

  void name(Expr& e) {
    if (Binding* b = lookup_local(e.s)) {
      e.res = {b->global ? Resolved::Global : Resolved::Local, b->slot};
      return;
    }
    if (std::optional<Binding> g = lookup_global(e.s)) {
      e.res = {Resolved::Global, g->slot};
      return;
    }
    auto& sc = sym_.scopes[module_];
    if (auto it = sc.consts.find(e.s); it != sc.consts.end()) {
      e.res = {Resolved::Const, it->second};
      return;
    }
    if (sc.fns.count(e.s) || graph::find_builtin(e.s)) {
      error(e.loc, "'" + e.s + "' is a function; call it with (...)");
      return;
    }
    if (sc.aliases.count(e.s)) {
      error(e.loc, "'" + e.s + "' is a module, not a value");
      return;
    }
    error(e.loc, "unknown name '" + e.s + "'");
  }

  LitType binary(Expr& e) {
    LitType a = expr(*e.kids[0]);
    LitType b = expr(*e.kids[1]);
    const std::string& op = e.s;
    if (op == "and" || op == "or" || op == "==" || op == "!=") return LitType::Unknown;
    if (a == LitType::Unknown || b == LitType::Unknown) return LitType::Unknown;
    bool num_a = a == LitType::Int || a == LitType::Float;
    bool num_b = b == LitType::Int || b == LitType::Float;
    bool ok = false;
    LitType result = LitType::Unknown;
    if (op == "+") {
      ok = (num_a && num_b) || (a == b && (a == LitType::Str || a == LitType::List));
      result = num_a && num_b
                   ? (a == LitType::Float || b == LitType::Float ? LitType::Float : LitType::Int)
                   : a;
    } else if (op == "-" || op == "*" || op == "/" || op == "//" || op == "%") {
      ok = num_a && num_b;
      result = op == "/"                                      ? LitType::Float
               : (a == LitType::Float || b == LitType::Float) ? LitType::Float
                                                              : LitType::Int;
      if (ok && (op == "/" || op == "//" || op == "%") && e.kids[1]->kind == ExprKind::Int &&
          e.kids[1]->i == 0)
        error(e.kids[1]->loc, "division by zero");
    } else {  // < <= > >=
      ok = (num_a && num_b) || (a == b && a == LitType::Str);
      result = LitType::Bool;
    }
    if (!ok) {
      error(e.loc,
            "operator '" + op + "' cannot be applied to " + lit_name(a) + " and " + lit_name(b));
      return LitType::Unknown;
    }
    return result;
  }

  void call(Expr& e) {
    Expr& callee = *e.kids[0];
    for (Arg& a : e.args) expr(*a.value);
    int32_t fn = -1;
    if (callee.kind == ExprKind::Name) {
      if (lookup_local(callee.s) || lookup_global(callee.s)) {
        error(callee.loc, "'" + callee.s + "' is a variable, not a function");
        return;
      }
      auto& sc = sym_.scopes[module_];
      if (auto it = sc.fns.find(callee.s); it != sc.fns.end()) {
        fn = it->second;
      } else if (const graph::Builtin* b = graph::find_builtin(callee.s)) {
        e.res = {Resolved::Builtin, static_cast<int32_t>(b->id)};
        for (Arg& a : e.args)
          if (!a.name.empty())
            error(a.name_loc, "builtin '" + callee.s + "' takes no named arguments");
        int n = static_cast<int>(e.args.size());
        if (n < b->min_args || (b->max_args >= 0 && n > b->max_args))
          error(callee.loc, "'" + callee.s + "' takes " + arity_text(b->min_args, b->max_args) +
                                ", given " + std::to_string(n));
        builtin_literal_checks(e, *b);
        return;
      } else {
        std::string hint;
        for (const graph::Builtin& b : graph::builtins())
          if (close(callee.s, std::string(b.name)) && callee.s.size() > 3)
            hint = " (did you mean '" + std::string(b.name) + "'?)";
        error(callee.loc, "unknown function '" + callee.s + "'" + hint);
        return;
      }
    } else if (callee.kind == ExprKind::Field && callee.kids[0]->kind == ExprKind::Name &&
               !lookup_local(callee.kids[0]->s) && !lookup_global(callee.kids[0]->s) &&
               sym_.scopes[module_].aliases.count(callee.kids[0]->s)) {
      int32_t mod = sym_.scopes[module_].aliases[callee.kids[0]->s];
      if (mod < 0) return;
      auto& target = sym_.scopes[mod];
      auto it = target.fns.find(callee.s);
      if (it == target.fns.end()) {
        error(callee.loc, "module '" + callee.kids[0]->s + "' has no function '" + callee.s + "'");
        return;
      }
      fn = it->second;
    } else {
      expr(callee);
      error(callee.loc, "only named functions can be called");
      return;
    }
    e.res = {Resolved::Function, fn};
    const DeclRef& ref = sym_.functions[fn];
    const FnDecl& decl = ms_.modules[ref.module]->fns[ref.decl];
    check_args(e, decl);
    if (e.value_used && !decl.is_extern && !returns_value_.count(fn))
      error(callee.loc, "'" + ref.name + "' does not return a value");
  }

  static std::string arity_text(int lo, int hi) {
    auto args = [](int n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); };
    if (hi < 0) return "at least " + args(lo);
    if (lo == hi) return args(lo);
    return std::to_string(lo) + " to " + args(hi);
  }

  void check_args(const Expr& e, const FnDecl& decl) {
    std::vector<bool> filled(decl.params.size(), false);
    size_t positional = 0;
    bool named_seen = false;
    for (const Arg& a : e.args) {
      if (a.name.empty()) {
        if (named_seen) {
          error(a.value->loc, "positional argument after a named one");
          return;
        }
        if (positional >= decl.params.size()) {
          error(a.value->loc, "too many arguments: '" + decl.name + "' takes " +
                                  std::to_string(decl.params.size()));
          return;
        }
        filled[positional++] = true;
        continue;
      }
      named_seen = true;
      size_t i = 0;
      while (i < decl.params.size() && decl.params[i].name != a.name) ++i;
      if (i == decl.params.size()) {
        error(a.name_loc, "'" + decl.name + "' has no parameter '" + a.name + "'");
      } else if (filled[i]) {
        error(a.name_loc, "parameter '" + a.name + "' given twice");
      } else {
        filled[i] = true;
      }
    }
    for (size_t i = 0; i < decl.params.size(); ++i)
      if (!filled[i] && !decl.params[i].default_value) {
        error(e.kids[0]->loc,
              "missing argument '" + decl.params[i].name + "' in call to '" + decl.name + "'");
        return;
      }
  }

  void builtin_literal_checks(const Expr& e, const graph::Builtin& b) {
    using graph::BuiltinId;
    if (e.args.empty()) return;
    LitType t0 = literal_type(*e.args[0].value);
    auto want = [&](std::initializer_list<LitType> ok, const char* what) {
      if (t0 == LitType::Unknown) return;
      for (LitType t : ok)
        if (t == t0) return;
      error(e.args[0].value->loc,
            "'" + std::string(b.name) + "' expects " + what + ", found " + lit_name(t0));
    };
    switch (b.id) {
      case BuiltinId::Len:
        want({LitType::Str, LitType::List, LitType::Map}, "a str, list or map");
        break;
      case BuiltinId::Keys:
      case BuiltinId::Values:
      case BuiltinId::Items:
        want({LitType::Map}, "a map");
        break;
      case BuiltinId::Split:
      case BuiltinId::Strip:
      case BuiltinId::Lower:
      case BuiltinId::Upper:
      case BuiltinId::Replace:
      case BuiltinId::StartsWith:
      case BuiltinId::EndsWith:
      case BuiltinId::JsonParse:
        want({LitType::Str}, "a str");
        break;
      case BuiltinId::Join:
      case BuiltinId::Sum:
      case BuiltinId::Sorted:
      case BuiltinId::Enumerate:
        want({LitType::List}, "a list");
        break;
      case BuiltinId::Range:
        want({LitType::Int}, "an int");
        break;
      default:
        break;
    }
  }

  // Every path through the block ends in `yield`.
  static bool always_yields(const Block& b) {
    for (const StmtPtr& s : b.stmts) {
      if (s->kind == StmtKind::Yield) return true;
      if (s->kind == StmtKind::Role || s->kind == StmtKind::With) {
        if (always_yields(s->body)) return true;
      }
      if (s->kind == StmtKind::If && s->else_body) {
        bool all = always_yields(s->body) && always_yields(*s->else_body);
        for (auto& [c, blk] : s->elifs) all = all && always_yields(blk);
        if (all) return true;
      }
    }
    return false;
  }

  void fork(Expr& e) {
    LitType t = expr(*e.kids[0]);
    if (e.fork_var.empty()) {
      if (t != LitType::Unknown && t != LitType::Int)
        error(e.kids[0]->loc, "'fork N' needs an integer count, found " + std::string(lit_name(t)) +
                                  " (use 'fork x in list' to fork over items)");
      else if (t == LitType::Int && e.kids[0]->i < 0)
        error(e.kids[0]->loc, "fork count must not be negative");
    } else if (t != LitType::Unknown && t != LitType::List && t != LitType::Str &&
               t != LitType::Map) {
      error(e.kids[0]->loc, "cannot fork over " + std::string(lit_name(t)));
    }
    scopes_.push_back(Scope{});
    if (!e.fork_var.empty()) {
      Binding b;
      b.slot = new_slot(e.fork_var);
      scopes_.back().names[e.fork_var] = b;
      e.fork_slot = b.slot;
    }
    fork_loop_depth_.push_back(loop_depth_);
    int saved_loops = loop_depth_;
    loop_depth_ = 0;  // break/continue never cross the body's boundary
    int saved_roles = role_depth_;
    role_depth_ = 0;  // a fork inside a role block starts its own role context
    block(*e.body);
    role_depth_ = saved_roles;
    loop_depth_ = saved_loops;
    fork_loop_depth_.pop_back();
    scopes_.pop_back();
    if (e.value_used && !always_yields(*e.body))
      error(e.loc, "the fork's value is used, but not every path of its body ends in 'yield'");
  }
};

}  // namespace

const std::vector<std::string>& gen_option_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const OptSpec& o : kOptions) v.push_back(o.name);
    return v;
  }();
  return names;
}

bool check_program(ModuleSet& modules, const CheckOptions& options, Diagnostics& diags,
                   Symbols& out) {
  Checker c(modules, options, diags, out);
  return c.run();
}

}  // namespace sgp::compiler
