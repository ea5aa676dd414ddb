// ConstraintLiterals: literal expressions to pattern/schema text, then the constraint library's
// own checks.
#include "compiler/constraint_literals.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "constraint/constraint_factory.h"
#include "constraint/json_schema.h"
#include "constraint/regex_parser.h"

namespace sgp::compiler {

namespace {

using ast::Expr;
using ast::ExprKind;
using Json = nlohmann::ordered_json;

// The JSON value of a fully literal expression, or nullopt if any part is computed.
std::optional<Json> literal_json(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Null:
      return Json(nullptr);
    case ExprKind::Bool:
      return Json(e.b);
    case ExprKind::Int:
      return Json(e.i);
    case ExprKind::Float:
      return Json(e.f);
    case ExprKind::Str:
      return Json(e.s);
    case ExprKind::Unary:
      if (e.s == "-" && e.kids[0]->kind == ExprKind::Int) return Json(-e.kids[0]->i);
      if (e.s == "-" && e.kids[0]->kind == ExprKind::Float) return Json(-e.kids[0]->f);
      return std::nullopt;
    case ExprKind::List: {
      Json out = Json::array();
      for (const auto& k : e.kids) {
        auto v = literal_json(*k);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case ExprKind::Map: {
      Json out = Json::object();
      for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        if (e.kids[i]->kind != ExprKind::Str) return std::nullopt;
        auto v = literal_json(*e.kids[i + 1]);
        if (!v) return std::nullopt;
        out[e.kids[i]->s] = std::move(*v);
      }
      return out;
    }
    default:
      return std::nullopt;
  }
}

// The pointer's reference tokens ("/a~1b/0" -> "a/b", "0").
std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> out;
  for (size_t i = 0; i < pointer.size() && pointer[i] == '/';) {
    size_t end = pointer.find('/', i + 1);
    if (end == std::string::npos) end = pointer.size();
    std::string token;
    for (size_t j = i + 1; j < end; ++j) {
      if (pointer[j] == '~' && j + 1 < end && (pointer[j + 1] == '0' || pointer[j + 1] == '1')) {
        token += pointer[++j] == '0' ? '~' : '/';
      } else {
        token += pointer[j];
      }
    }
    out.push_back(std::move(token));
    i = end;
  }
  return out;
}

// The deepest sub-expression of a literal along a JSON pointer ("/properties/a/type").
const Expr& locate(const Expr& root, const std::string& pointer) {
  const Expr* at = &root;
  for (const std::string& token : pointer_tokens(pointer)) {
    const Expr* next = nullptr;
    if (at->kind == ExprKind::Map) {
      for (size_t i = 0; i + 1 < at->kids.size(); i += 2)
        if (at->kids[i]->kind == ExprKind::Str && at->kids[i]->s == token)
          next = at->kids[i + 1].get();
    } else if (at->kind == ExprKind::List && !token.empty() && token.size() < 9 &&
               token.find_first_not_of("0123456789") == std::string::npos) {
      size_t index = std::stoul(token);
      if (index < at->kids.size()) next = at->kids[index].get();
    }
    if (!next) break;
    at = next;
  }
  return *at;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void check_regex(const Expr& v, Diagnostics& diags) {
  try {
    constraint::parse_regex(v.s);
  } catch (const constraint::PatternError& e) {
    // A one-line raw string spells the pattern verbatim after `r"`, so the column is exact.
    if (v.raw && v.s.find('\n') == std::string::npos) {
      graph::SourceLoc at = v.loc;
      at.col +=
          2 + static_cast<int32_t>(code_points(std::string_view(v.s).substr(0, e.position())));
      diags.error(at, "invalid regex: " + e.reason());
    } else {
      diags.error(v.loc,
                  "invalid regex at offset " + std::to_string(e.position()) + ": " + e.reason());
    }
    return;
  }
  if (auto why = constraint::validate_regex(v.s)) diags.error(v.loc, *why);
}

void check_schema(const Expr& v, Diagnostics& diags) {
  std::optional<Json> schema = literal_json(v);
  if (!schema) return;
  try {
    constraint::json_schema_to_regex(*schema);
  } catch (const constraint::SchemaError& e) {
    diags.error(locate(v, e.pointer()).loc, e.what());
    return;
  }
  if (auto why = constraint::validate_json_schema(*schema)) diags.error(v.loc, *why);
}

}  // namespace

void check_constraint_literal(const ast::Option& option, Diagnostics& diags) {
  const Expr& v = *option.value;
  if (option.key == "regex" && v.kind == ExprKind::Str) {
    check_regex(v, diags);
  } else if (option.key == "json" && v.kind == ExprKind::Map) {
    check_schema(v, diags);
  } else if (option.key == "choices" && v.kind == ExprKind::List && v.kids.empty()) {
    diags.error(v.loc, "choices: the list is empty");
  }
}

}  // namespace sgp::compiler
