// The .sgp abstract syntax tree: what the parser hands to the checker and lowering.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/graph.h"

namespace sgp::ast {

using Loc = graph::SourceLoc;

struct Block;

// How the checker resolved a name; lowering reads it instead of re-resolving.
struct Resolved {
  enum Kind : uint8_t { None, Local, Global, Const, Function, Builtin, Module } kind = None;
  int32_t index = -1;  // slot, const index, function index, builtin id or module index
};

enum class ExprKind : uint8_t {
  Null,
  Bool,
  Int,
  Float,
  Str,
  Interp,
  List,
  Map,
  Name,
  Unary,
  Binary,
  Call,
  Index,
  Field,
  Spawn,
  Fork,
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Arg {
  std::string name;  // empty: positional
  Loc name_loc;
  ExprPtr value;
};

struct Expr {
  ExprKind kind = ExprKind::Null;
  Loc loc;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;     // Str value, Name, Field member, operator spelling ("+", "and", "not"...)
  bool raw = false;  // Str: came from a raw string (for diagnostics only)
  std::vector<ExprPtr> kids;  // Interp parts, List items, Map key/value pairs, operands,
                              // Call callee (kids[0]), Index [obj, idx], Field [obj], Spawn [call]
  std::vector<Arg> args;      // Call
  // Fork: `fork VAR in kids[0] { body }` or `fork kids[0] { body }`
  std::string fork_var;
  Loc fork_var_loc;
  std::unique_ptr<Block> body;
  Resolved res;            // Name; Call: its callee; Field: `module.CONST` or `selected.logprobs`
  int32_t fork_slot = -1;  // Fork: slot of the branch variable
  bool value_used = true;  // Fork/Call/Spawn: false when it is a statement on its own
};

struct Option {
  std::string key;
  Loc loc;
  ExprPtr value;
};

enum class StmtKind : uint8_t {
  Let,
  Assign,
  Expr,
  If,
  For,
  While,
  Break,
  Continue,
  Return,
  Yield,
  Gen,
  Select,
  Role,
  With,
  UseTemplate,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

struct Block {
  Loc loc;  // the '{'
  Loc end;  // the '}'
  std::vector<StmtPtr> stmts;
};

struct Stmt {
  StmtKind kind = StmtKind::Expr;
  Loc loc;
  std::string name;  // Let/For/Gen/Select binding, Role name, UseTemplate name
  Loc name_loc;
  ExprPtr target;  // Assign destination (Name/Index/Field)
  ExprPtr value;   // Let/Assign/Expr/Return(optional)/Yield value, If/While cond, For iterable,
                   // Select choices
  std::vector<Option> options;                   // Gen/Select/With
  std::vector<std::pair<ExprPtr, Block>> elifs;  // If: (cond, block) after the first
  Block body;                                    // If then / For / While / Role / With body
  std::unique_ptr<Block> else_body;
  int32_t slot = -1;      // binding slot (Let/For/Gen/Select/Assign to a new name)
  bool global = false;    // binding lives in Program::globals (REPL)
  int32_t aux_slot = -1;  // Select: logprobs slot; For: iterator slot
};

struct Param {
  std::string name;
  Loc loc;
  ExprPtr default_value;
};

struct FnDecl {
  std::string name;
  Loc loc;
  bool is_extern = false;
  std::vector<Param> params;
  Block body;
  bool repl = false;  // a REPL snippet's statements: its bindings are Program::globals
  std::vector<std::string> locals;  // filled by the checker: slot names
};

struct ConstDecl {
  std::string name;
  Loc loc;
  ExprPtr value;
};

struct ImportDecl {
  std::string path;
  std::string alias;    // defaults to the file's stem
  Loc loc;              // the path string
  int32_t module = -1;  // filled by the import resolver
};

struct TemplateDecl {
  std::string name;
  Loc loc;
  std::vector<Option> fields;
};

// One source file.
struct Module {
  int32_t file = -1;
  std::string path;
  std::vector<ImportDecl> imports;
  std::vector<ConstDecl> consts;
  std::vector<FnDecl> fns;
  std::vector<TemplateDecl> templates;
  std::vector<Option> defaults;  // `use defaults (...)`, in order
  Loc defaults_loc;
  std::vector<std::pair<std::string, Loc>> use_templates;  // top-level `use template`
  std::vector<StmtPtr> top_stmts;  // top-level statements (REPL only; an error in files)
};

}  // namespace sgp::ast
