// Expression evaluation and the builtin functions of LANGUAGE.md §6.
#include "interp/expr_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>

#include "compiler/builtins.h"

namespace sgp::interp {

namespace {

using graph::BuiltinId;
using graph::ExprOp;

constexpr size_t kMaxBuiltSize = 10'000'000;  // range(), "x" * n: no giant allocations

[[noreturn]] void fail(const std::string& msg) {
  throw Error(msg);
}

const std::string& want_str(const Value& v, const char* what) {
  if (!v.is_str()) fail(std::string(what) + " expects a str, got " + type_name(v));
  return v.as_str();
}

int64_t want_int(const Value& v, const char* what) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return v.as_bool();
  fail(std::string(what) + " expects an int, got " + type_name(v));
}

const List& want_list(const Value& v, const char* what) {
  if (!v.is_list()) fail(std::string(what) + " expects a list, got " + type_name(v));
  return v.as_list();
}

const Map& want_map(const Value& v, const char* what) {
  if (!v.is_map()) fail(std::string(what) + " expects a map, got " + type_name(v));
  return v.as_map();
}

size_t utf8_len(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

int64_t norm_index(int64_t i, size_t n, bool clamp) {
  int64_t sn = static_cast<int64_t>(n);
  if (i < 0) i += sn;
  if (clamp) return std::clamp<int64_t>(i, 0, sn);
  return i;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::regex make_regex(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("invalid regex '" + pattern + "': " + e.what());
  }
}

Value number_result(double x) {
  return Value(x);
}

Value arith(ExprOp op, const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) {
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    switch (op) {
      case ExprOp::Add:
        if (__builtin_add_overflow(x, y, &r)) fail("integer overflow");
        return r;
      case ExprOp::Sub:
        if (__builtin_sub_overflow(x, y, &r)) fail("integer overflow");
        return r;
      case ExprOp::Mul:
        if (__builtin_mul_overflow(x, y, &r)) fail("integer overflow");
        return r;
      case ExprOp::FloorDiv: {
        if (y == 0) fail("division by zero");
        if (x == std::numeric_limits<int64_t>::min() && y == -1) fail("integer overflow");
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return q;
      }
      case ExprOp::Mod: {
        if (y == 0) fail("modulo by zero");
        if (y == -1) return int64_t{0};
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return m;
      }
      default:
        break;
    }
  }
  double x = a.as_number(), y = b.as_number();
  switch (op) {
    case ExprOp::Add:
      return number_result(x + y);
    case ExprOp::Sub:
      return number_result(x - y);
    case ExprOp::Mul:
      return number_result(x * y);
    case ExprOp::Div:
      if (y == 0) fail("division by zero");
      return number_result(x / y);
    case ExprOp::FloorDiv:
      if (y == 0) fail("division by zero");
      return number_result(std::floor(x / y));
    case ExprOp::Mod:
      if (y == 0) fail("modulo by zero");
      return number_result(x - std::floor(x / y) * y);
    default:
      break;
  }
  fail("bad arithmetic operator");
}

const char* op_symbol(ExprOp op) {
  switch (op) {
    case ExprOp::Add:
      return "+";
    case ExprOp::Sub:
      return "-";
    case ExprOp::Mul:
      return "*";
    case ExprOp::Div:
      return "/";
    case ExprOp::FloorDiv:
      return "//";
    case ExprOp::Mod:
      return "%";
    case ExprOp::Lt:
      return "<";
    case ExprOp::Le:
      return "<=";
    case ExprOp::Gt:
      return ">";
    case ExprOp::Ge:
      return ">=";
    default:
      return graph::expr_op_name(op);
  }
}

Value repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_str()) {
    if (seq.as_str().size() * static_cast<size_t>(n) > kMaxBuiltSize) fail("string too large");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_str();
    return out;
  }
  const List& l = seq.as_list();
  if (l.size() * static_cast<size_t>(n) > kMaxBuiltSize) fail("list too large");
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), l.begin(), l.end());
  return out;
}

Value min_max(std::vector<Value>& args, bool want_max, const char* name) {
  const List* items = &args;
  if (args.size() == 1) items = &want_list(args[0], name);
  if (items->empty()) fail(std::string(name) + "() of an empty list");
  const Value* best = &(*items)[0];
  for (const Value& v : *items) {
    int c = compare(v, *best);
    if (want_max ? c > 0 : c < 0) best = &v;
  }
  return *best;
}

Value regex_groups(const std::smatch& m) {
  if (m.size() <= 1) return m.str(0);
  if (m.size() == 2) return m.str(1);
  List g;
  for (size_t i = 1; i < m.size(); ++i) g.push_back(m.str(i));
  return g;
}

}  // namespace

Value binary_op(ExprOp op, const Value& a, const Value& b) {
  switch (op) {
    case ExprOp::Eq:
      return equal(a, b);
    case ExprOp::Ne:
      return !equal(a, b);
    case ExprOp::Lt:
      return compare(a, b) < 0;
    case ExprOp::Le:
      return compare(a, b) <= 0;
    case ExprOp::Gt:
      return compare(a, b) > 0;
    case ExprOp::Ge:
      return compare(a, b) >= 0;
    default:
      break;
  }
  if (op == ExprOp::Add) {
    if (a.is_str() && b.is_str()) return a.as_str() + b.as_str();
    if (a.is_list() && b.is_list()) {
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return out;
    }
  }
  if (op == ExprOp::Mul) {
    if ((a.is_str() || a.is_list()) && b.is_int()) return repeat(a, b.as_int());
    if (a.is_int() && (b.is_str() || b.is_list())) return repeat(b, a.as_int());
  }
  if (a.is_number() && b.is_number()) return arith(op, a, b);
  fail(std::string("unsupported operand types for ") + op_symbol(op) + ": " + type_name(a) +
       " and " + type_name(b));
}

Value index_value(const Value& c, const Value& key) {
  if (c.is_list()) {
    const List& l = c.as_list();
    int64_t i = norm_index(want_int(key, "list index"), l.size(), false);
    if (i < 0 || i >= static_cast<int64_t>(l.size()))
      fail("list index " + to_display(key) + " out of range (length " + std::to_string(l.size()) +
           ")");
    return l[static_cast<size_t>(i)];
  }
  if (c.is_map()) {
    const std::string& k = key.is_str() ? key.as_str() : to_display(key);
    const Value* v = c.as_map().find(k);
    if (!v) fail("map has no key '" + k + "'");
    return *v;
  }
  if (c.is_str()) {
    const std::string& s = c.as_str();
    int64_t i = norm_index(want_int(key, "string index"), s.size(), false);
    if (i < 0 || i >= static_cast<int64_t>(s.size()))
      fail("string index " + to_display(key) + " out of range (length " + std::to_string(s.size()) +
           ")");
    return std::string(1, s[static_cast<size_t>(i)]);
  }
  fail(std::string("cannot index a ") + type_name(c));
}

List iteration_items(const Value& v) {
  if (v.is_list()) return v.as_list();
  if (v.is_map()) {
    List keys;
    for (const auto& kv : v.as_map().items()) keys.push_back(kv.first);
    return keys;
  }
  if (v.is_str()) {
    List chars;
    const std::string& s = v.as_str();
    for (size_t i = 0; i < s.size();) {
      size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
      chars.push_back(s.substr(i, n));
      i += n;
    }
    return chars;
  }
  fail(std::string("cannot iterate over a ") + type_name(v));
}

Value call_builtin(BuiltinId id, std::vector<Value>& a, EvalEnv& env) {
  switch (id) {
    case BuiltinId::Len:
      if (a[0].is_str()) return static_cast<int64_t>(a[0].as_str().size());
      if (a[0].is_list()) return static_cast<int64_t>(a[0].as_list().size());
      if (a[0].is_map()) return static_cast<int64_t>(a[0].as_map().size());
      fail(std::string("len() of a ") + type_name(a[0]));
    case BuiltinId::Str:
      return to_display(a[0]);
    case BuiltinId::Int:
      if (a[0].is_int()) return a[0];
      if (a[0].is_bool()) return static_cast<int64_t>(a[0].as_bool());
      if (a[0].is_float()) {
        double x = a[0].as_float();
        if (!std::isfinite(x) || std::fabs(x) >= 9.2e18) fail("int() of a float out of range");
        return static_cast<int64_t>(x);
      }
      if (a[0].is_str()) {
        std::string s = a[0].as_str();
        size_t b = 0, e = s.size();
        while (b < e && is_space(s[b])) ++b;
        while (e > b && is_space(s[e - 1])) --e;
        s = s.substr(b, e - b);
        try {
          size_t used = 0;
          long long v = std::stoll(s, &used);
          if (used == s.size()) return static_cast<int64_t>(v);
        } catch (...) {
        }
        fail("int(): not an integer: \"" + a[0].as_str() + "\"");
      }
      fail(std::string("int() of a ") + type_name(a[0]));
    case BuiltinId::Float:
      if (a[0].is_number()) return a[0].as_number();
      if (a[0].is_bool()) return a[0].as_bool() ? 1.0 : 0.0;
      if (a[0].is_str()) {
        try {
          size_t used = 0;
          double v = std::stod(a[0].as_str(), &used);
          while (used < a[0].as_str().size() && is_space(a[0].as_str()[used])) ++used;
          if (used == a[0].as_str().size()) return v;
        } catch (...) {
        }
        fail("float(): not a number: \"" + a[0].as_str() + "\"");
      }
      fail(std::string("float() of a ") + type_name(a[0]));
    case BuiltinId::Bool:
      return a[0].truthy();
    case BuiltinId::Range: {
      int64_t start = 0, stop, step = 1;
      if (a.size() == 1) {
        stop = want_int(a[0], "range");
      } else {
        start = want_int(a[0], "range");
        stop = want_int(a[1], "range");
        if (a.size() == 3) step = want_int(a[2], "range");
      }
      if (step == 0) fail("range() step must not be zero");
      double n = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) /
                           static_cast<double>(step));
      if (n > static_cast<double>(kMaxBuiltSize)) fail("range() too large");
      List out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(i);
      return out;
    }
    case BuiltinId::Print: {
      std::string line;
      for (size_t i = 0; i < a.size(); ++i) line += (i ? " " : "") + to_display(a[i]);
      if (env.print) env.print(line + "\n");
      return Value();
    }
    case BuiltinId::JsonParse: {
      auto j = nlohmann::ordered_json::parse(want_str(a[0], "json_parse"), nullptr, false);
      if (j.is_discarded()) fail("json_parse(): invalid JSON");
      return from_json(j);
    }
    case BuiltinId::JsonDump: {
      int indent = a.size() > 1
                       ? static_cast<int>(std::clamp<int64_t>(want_int(a[1], "json_dump"), 0, 16))
                       : -1;
      return to_json_text(a[0], indent);
    }
    case BuiltinId::Split: {
      const std::string& s = want_str(a[0], "split");
      List out;
      if (a.size() < 2 || a[1].is_null()) {
        size_t i = 0;
        while (i < s.size()) {
          while (i < s.size() && is_space(s[i])) ++i;
          size_t b = i;
          while (i < s.size() && !is_space(s[i])) ++i;
          if (i > b) out.push_back(s.substr(b, i - b));
        }
        return out;
      }
      const std::string& sep = want_str(a[1], "split");
      if (sep.empty()) fail("split(): empty separator");
      size_t b = 0;
      for (size_t p; (p = s.find(sep, b)) != std::string::npos; b = p + sep.size())
        out.push_back(s.substr(b, p - b));
      out.push_back(s.substr(b));
      return out;
    }
    case BuiltinId::Join: {
      const List& l = want_list(a[0], "join");
      const std::string& sep = want_str(a[1], "join");
      std::string out;
      for (size_t i = 0; i < l.size(); ++i) out += (i ? sep : "") + to_display(l[i]);
      return out;
    }
    case BuiltinId::Strip: {
      const std::string& s = want_str(a[0], "strip");
      size_t b = 0, e = s.size();
      while (b < e && is_space(s[b])) ++b;
      while (e > b && is_space(s[e - 1])) --e;
      return s.substr(b, e - b);
    }
    case BuiltinId::Lower:
    case BuiltinId::Upper: {
      std::string s = want_str(a[0], id == BuiltinId::Lower ? "lower" : "upper");
      for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x80)
          c = id == BuiltinId::Lower ? std::tolower(c) : std::toupper(c);
      return s;
    }
    case BuiltinId::Replace: {
      std::string s = want_str(a[0], "replace");
      const std::string& from = want_str(a[1], "replace");
      const std::string& to = want_str(a[2], "replace");
      if (from.empty()) return s;
      std::string out;
      size_t b = 0;
      for (size_t p; (p = s.find(from, b)) != std::string::npos; b = p + from.size()) {
        out += s.substr(b, p - b) + to;
        if (out.size() > kMaxBuiltSize) fail("replace(): result too large");
      }
      return out + s.substr(b);
    }
    case BuiltinId::StartsWith: {
      const std::string &s = want_str(a[0], "startswith"), &p = want_str(a[1], "startswith");
      return s.compare(0, p.size(), p) == 0 && s.size() >= p.size();
    }
    case BuiltinId::EndsWith: {
      const std::string &s = want_str(a[0], "endswith"), &p = want_str(a[1], "endswith");
      return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
    }
    case BuiltinId::Contains:
      if (a[0].is_str()) return a[0].as_str().find(want_str(a[1], "contains")) != std::string::npos;
      if (a[0].is_list()) {
        for (const Value& v : a[0].as_list())
          if (equal(v, a[1])) return true;
        return false;
      }
      if (a[0].is_map()) return a[1].is_str() && a[0].as_map().find(a[1].as_str()) != nullptr;
      fail(std::string("contains() of a ") + type_name(a[0]));
    case BuiltinId::Find:
      if (a[0].is_str()) {
        size_t p = a[0].as_str().find(want_str(a[1], "find"));
        return p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(p);
      }
      if (a[0].is_list()) {
        const List& l = a[0].as_list();
        for (size_t i = 0; i < l.size(); ++i)
          if (equal(l[i], a[1])) return static_cast<int64_t>(i);
        return int64_t{-1};
      }
      fail(std::string("find() of a ") + type_name(a[0]));
    case BuiltinId::RegexMatch: {
      std::regex re = make_regex(want_str(a[0], "regex_match"));
      return std::regex_match(want_str(a[1], "regex_match"), re);
    }
    case BuiltinId::RegexFindall: {
      std::regex re = make_regex(want_str(a[0], "regex_findall"));
      const std::string& s = want_str(a[1], "regex_findall");
      List out;
      for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
           ++it)
        out.push_back(regex_groups(*it));
      return out;
    }
    case BuiltinId::Min:
      return min_max(a, false, "min");
    case BuiltinId::Max:
      return min_max(a, true, "max");
    case BuiltinId::Sum: {
      Value total = int64_t{0};
      for (const Value& v : want_list(a[0], "sum")) {
        if (!v.is_number()) fail(std::string("sum() of a list holding a ") + type_name(v));
        total = binary_op(ExprOp::Add, total, v);
      }
      return total;
    }
    case BuiltinId::Sorted: {
      List l = want_list(a[0], "sorted");
      std::stable_sort(l.begin(), l.end(),
                       [](const Value& x, const Value& y) { return compare(x, y) < 0; });
      return l;
    }
    case BuiltinId::Keys:
    case BuiltinId::Values:
    case BuiltinId::Items: {
      List out;
      for (const auto& kv : want_map(a[0], "keys/values/items").items()) {
        if (id == BuiltinId::Keys)
          out.push_back(kv.first);
        else if (id == BuiltinId::Values)
          out.push_back(kv.second);
        else
          out.push_back(List{kv.first, kv.second});
      }
      return out;
    }
    case BuiltinId::Enumerate: {
      List out;
      int64_t i = 0;
      for (const Value& v : iteration_items(a[0])) out.push_back(List{i++, v});
      return out;
    }
    case BuiltinId::Get: {
      Value def = a.size() > 2 ? a[2] : Value();
      if (a[0].is_map()) {
        if (!a[1].is_str()) return def;
        const Value* v = a[0].as_map().find(a[1].as_str());
        return v ? *v : def;
      }
      if (a[0].is_list()) {
        if (!a[1].is_int()) return def;
        int64_t i = norm_index(a[1].as_int(), a[0].as_list().size(), false);
        if (i < 0 || i >= static_cast<int64_t>(a[0].as_list().size())) return def;
        return a[0].as_list()[static_cast<size_t>(i)];
      }
      fail(std::string("get() of a ") + type_name(a[0]));
    }
    case BuiltinId::Slice: {
      bool str = a[0].is_str();
      if (!str && !a[0].is_list()) fail(std::string("slice() of a ") + type_name(a[0]));
      size_t n = str ? a[0].as_str().size() : a[0].as_list().size();
      int64_t b = norm_index(want_int(a[1], "slice"), n, true);
      int64_t e = a.size() > 2 && !a[2].is_null() ? norm_index(want_int(a[2], "slice"), n, true)
                                                  : static_cast<int64_t>(n);
      if (e < b) e = b;
      if (str) return a[0].as_str().substr(static_cast<size_t>(b), static_cast<size_t>(e - b));
      return List(a[0].as_list().begin() + b, a[0].as_list().begin() + e);
    }
    case BuiltinId::Append: {
      List l = want_list(a[0], "append");
      l.push_back(a[1]);
      return l;
    }
    case BuiltinId::Abs:
      if (a[0].is_int()) {
        if (a[0].as_int() == std::numeric_limits<int64_t>::min()) fail("integer overflow");
        return a[0].as_int() < 0 ? -a[0].as_int() : a[0].as_int();
      }
      if (a[0].is_float()) return std::fabs(a[0].as_float());
      fail(std::string("abs() of a ") + type_name(a[0]));
    case BuiltinId::Round: {
      if (!a[0].is_number()) fail(std::string("round() of a ") + type_name(a[0]));
      if (a.size() < 2 || a[1].is_null()) {
        if (a[0].is_int()) return a[0];
        double r = std::nearbyint(a[0].as_float());
        if (!std::isfinite(r) || std::fabs(r) >= 9.2e18) fail("round(): out of range");
        return static_cast<int64_t>(r);
      }
      int64_t d = std::clamp<int64_t>(want_int(a[1], "round"), -15, 15);
      double p = std::pow(10.0, static_cast<double>(d));
      return std::nearbyint(a[0].as_number() * p) / p;
    }
    case BuiltinId::Type:
      return type_name(a[0]);
    case BuiltinId::Text:
      return env.state ? env.state->text : std::string();
    case BuiltinId::LenTokens:
      return static_cast<int64_t>(env.state ? env.state->tokens.size() : 0);
  }
  fail("unknown builtin");
}

Value eval(const graph::Expr& e, EvalEnv& env) {
  try {
    switch (e.op) {
      case ExprOp::Null:
        return Value();
      case ExprOp::Bool:
        return e.b;
      case ExprOp::Int:
        return e.i;
      case ExprOp::Float:
        return e.f;
      case ExprOp::Str:
        return e.s;
      case ExprOp::Interp: {
        std::string out;
        for (const auto& k : e.kids) out += to_display(eval(k, env));
        return out;
      }
      case ExprOp::List: {
        List l;
        l.reserve(e.kids.size());
        for (const auto& k : e.kids) l.push_back(eval(k, env));
        return l;
      }
      case ExprOp::Map: {
        Map m;
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          Value k = eval(e.kids[i], env);
          m[to_display(k)] = eval(e.kids[i + 1], env);
        }
        return m;
      }
      case ExprOp::Local:
      case ExprOp::Global: {
        std::vector<Value>* vec = e.op == ExprOp::Local ? env.slots : env.globals;
        if (!vec || e.slot < 0 || static_cast<size_t>(e.slot) >= vec->size())
          fail("internal: bad variable slot");
        const Value& v = (*vec)[static_cast<size_t>(e.slot)];
        if (v.contains_future()) fail("internal: a future reached an expression unresolved");
        return v;
      }
      case ExprOp::Const:
        return env.const_value(e.slot);
      case ExprOp::Neg: {
        Value v = eval(e.kids[0], env);
        if (v.is_int()) {
          if (v.as_int() == std::numeric_limits<int64_t>::min()) fail("integer overflow");
          return -v.as_int();
        }
        if (v.is_float()) return -v.as_float();
        fail(std::string("cannot negate a ") + type_name(v));
      }
      case ExprOp::Not:
        return !eval(e.kids[0], env).truthy();
      case ExprOp::And: {
        Value l = eval(e.kids[0], env);
        return l.truthy() ? eval(e.kids[1], env) : l;
      }
      case ExprOp::Or: {
        Value l = eval(e.kids[0], env);
        return l.truthy() ? l : eval(e.kids[1], env);
      }
      case ExprOp::Index: {
        Value c = eval(e.kids[0], env);
        return index_value(c, eval(e.kids[1], env));
      }
      case ExprOp::Field: {
        Value c = eval(e.kids[0], env);
        if (!c.is_map()) fail("cannot read field '" + e.s + "' of a " + type_name(c));
        const Value* v = c.as_map().find(e.s);
        if (!v) fail("map has no key '" + e.s + "'");
        return *v;
      }
      case ExprOp::Builtin: {
        std::vector<Value> args;
        args.reserve(e.kids.size());
        for (const auto& k : e.kids) args.push_back(eval(k, env));
        return call_builtin(static_cast<graph::BuiltinId>(e.slot), args, env);
      }
      default: {
        Value a = eval(e.kids[0], env);
        Value b = eval(e.kids[1], env);
        return binary_op(e.op, a, b);
      }
    }
  } catch (const EvalError&) {
    throw;
  } catch (const Error& err) {
    throw EvalError(e.loc, err.what());
  }
}

}  // namespace sgp::interp
