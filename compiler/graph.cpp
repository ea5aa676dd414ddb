// Names of graph node kinds and expression operators (shared by JSON, DOT and the runtime).
#include "compiler/graph.h"

namespace sgp::graph {

const char* node_kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::Nop:
      return "nop";
    case NodeKind::Append:
      return "append";
    case NodeKind::RoleBegin:
      return "role_begin";
    case NodeKind::RoleEnd:
      return "role_end";
    case NodeKind::UseTemplate:
      return "use_template";
    case NodeKind::Gen:
      return "gen";
    case NodeKind::Select:
      return "select";
    case NodeKind::Call:
      return "call";
    case NodeKind::Spawn:
      return "spawn";
    case NodeKind::Fork:
      return "fork";
    case NodeKind::Join:
      return "join";
    case NodeKind::Yield:
      return "yield";
    case NodeKind::Branch:
      return "branch";
    case NodeKind::ForInit:
      return "for_init";
    case NodeKind::ForNext:
      return "for_next";
    case NodeKind::Assign:
      return "assign";
    case NodeKind::Eval:
      return "eval";
    case NodeKind::Return:
      return "return";
  }
  return "?";
}

const char* expr_op_name(ExprOp op) {
  switch (op) {
    case ExprOp::Null:
      return "null";
    case ExprOp::Bool:
      return "bool";
    case ExprOp::Int:
      return "int";
    case ExprOp::Float:
      return "float";
    case ExprOp::Str:
      return "str";
    case ExprOp::Interp:
      return "interp";
    case ExprOp::List:
      return "list";
    case ExprOp::Map:
      return "map";
    case ExprOp::Local:
      return "local";
    case ExprOp::Global:
      return "global";
    case ExprOp::Const:
      return "const";
    case ExprOp::Neg:
      return "neg";
    case ExprOp::Not:
      return "not";
    case ExprOp::Add:
      return "add";
    case ExprOp::Sub:
      return "sub";
    case ExprOp::Mul:
      return "mul";
    case ExprOp::Div:
      return "div";
    case ExprOp::FloorDiv:
      return "floordiv";
    case ExprOp::Mod:
      return "mod";
    case ExprOp::Eq:
      return "eq";
    case ExprOp::Ne:
      return "ne";
    case ExprOp::Lt:
      return "lt";
    case ExprOp::Le:
      return "le";
    case ExprOp::Gt:
      return "gt";
    case ExprOp::Ge:
      return "ge";
    case ExprOp::And:
      return "and";
    case ExprOp::Or:
      return "or";
    case ExprOp::Index:
      return "index";
    case ExprOp::Field:
      return "field";
    case ExprOp::Builtin:
      return "builtin";
  }
  return "?";
}

}  // namespace sgp::graph
