// The execution graph: the compiler's output and the runtime interpreter's input.
#pragma once

// How to run it (the runtime's contract):
//
// A Program is a table of Functions. A Function is a vector of Nodes addressed by index
// (NodeId); execution starts at Function::entry and follows Node::next until a Return node or
// next == kEnd (which returns null). Control flow is explicit: Branch and ForNext take
// Node::alt when the condition is false / the iterator is exhausted; loops are back-edges, so
// `break` and `continue` are already plain edges. Every node carries its source location for
// .sgp stack traces.
//
// A frame holds `Function::locals.size()` value slots (parameters occupy slots 0..params-1)
// plus the state (the token sequence the model sees). State nodes (Append, RoleBegin, RoleEnd,
// Gen, Select, UseTemplate) change the frame's state. Everything that may block or touch the
// model is a node (Gen, Select, Call, Spawn, Fork); expressions are pure trees the runtime
// evaluates synchronously: they contain no user-function calls, no extern calls, no gen. The
// only non-pure builtins are `print` (output), and `text()`/`len_tokens()` (read the state).
// A value read by an expression may be a future (from Spawn); Node::reads lists the slots a
// node's expressions read, so the runtime can await those futures before evaluating.
//
// Fork: the parent evaluates Fork::iterable (a list/range for ForkKind::Each, an int for
// ForkKind::Count), then runs one branch per element, each on a copy of the parent's state
// AND of the parent's local slots (writes inside a branch never reach the parent). A branch
// starts at Fork::body (or, after running the shared prefix once, at Fork::prefix_end — see
// below) and ends when control reaches the Fork's Join node (Fork::join): a Yield node sets the
// branch's value and jumps there; falling off the body also jumps there (value null). The parent
// resumes at the Join node, which stores the list of branch values (branch order) into
// Join::target and continues at Join's next. The parent's state is unchanged by a fork.
// `return`, `break` and `continue` never cross a fork body boundary (compile error).
//
// Shared prefixes: Fork::prefix_nodes are the leading state operations of the body (Append,
// RoleBegin, RoleEnd) that do not depend on the branch (they don't read the fork variable and
// call no impure builtin). The runtime may execute them once on the parent's state copy, then
// start every branch at Fork::prefix_end with that shared state; running the body from
// Fork::body gives the same result. Fork::static_prefix is the compile-time-known part of it
// (literal text and role markers), for prefilling before the parent even reaches the fork.
// Function::static_prefix is the same for a function's leading constant state operations;
// Call and Spawn nodes copy their callee's (a spawn's fresh state starts with exactly that).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sgp::graph {

using NodeId = int32_t;
constexpr NodeId kEnd = -1;  // "no successor": end of a function body
constexpr int32_t kNoSlot = -1;

struct SourceLoc {
  int32_t file = -1;  // index into Program::files
  int32_t line = 0;   // 1-based
  int32_t col = 0;    // 1-based, in characters (code points)
};

// ---- Expressions -----------------------------------------------------------------------------

enum class ExprOp : uint8_t {
  Null,
  Bool,    // Expr::b
  Int,     // Expr::i
  Float,   // Expr::f
  Str,     // Expr::s (escapes already decoded)
  Interp,  // kids: parts, each converted with str() and concatenated
  List,    // kids: elements
  Map,     // kids: key0, value0, key1, value1, ... (keys evaluate to strings)
  Local,   // slot: frame slot
  Global,  // slot: Program::globals (REPL session variables)
  Const,   // slot: Program::consts
  Neg,     // kids[0]
  Not,     // kids[0]
  Add,     // int/float arithmetic; str + str, list + list concatenate
  Sub,
  Mul,
  Div,       // always float
  FloorDiv,  // `//`: int when both ints
  Mod,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  And,      // short-circuit: kids[0] and kids[1]; value is the deciding operand
  Or,       // short-circuit
  Index,    // kids[0][kids[1]]: list (negative counts from the end), map, or str
  Field,    // kids[0].s: map member access
  Builtin,  // slot: index into builtins() (compiler/builtins.h), s: its name, kids: arguments
};

struct Expr {
  ExprOp op = ExprOp::Null;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  int32_t slot = kNoSlot;
  std::vector<Expr> kids;
  SourceLoc loc;
};

// A named option of gen/select/with/use defaults, e.g. `max_tokens: 256`.
struct Option {
  std::string key;
  Expr value;
  bool constant =
      false;  // value contains no variable reads: the runtime may cache e.g. a regex FSM
};

// ---- Nodes -----------------------------------------------------------------------------------

enum class NodeKind : uint8_t {
  Nop,          // does nothing; a join point for control flow
  Append,       // append str(expr) to the state
  RoleBegin,    // open `role` with the active chat template
  RoleEnd,      // close `role`
  UseTemplate,  // switch the chat template for this state to `name` (Program::templates)
  Gen,          // sample with options; binds target (text)
  Select,       // score choices (expr) given the state; binds target (winner), aux (scores)
  Call,         // run callee inline on this state; result in target (or none)
  Spawn,        // run callee on a fresh state concurrently; target gets a future
  Fork,         // see top of file
  Join,         // end of a fork: target gets the list of branch values
  Yield,        // a fork branch's value = expr; next is the Join
  Branch,       // if truthy(expr) goto next else goto alt
  ForInit,      // aux slot = iterator over expr (list, str chars, map keys)
  ForNext,      // if aux has an element: target = element, goto next; else goto alt
  Assign,       // target (with path) = expr
  Eval,         // evaluate expr for its effect (e.g. print), discard
  Return,       // return expr from the function
};

// Assignment destination: a slot, optionally indexed (`x[i].k = v` has path [i, "k"]).
struct LValue {
  bool global = false;  // slot is in Program::globals instead of the frame
  int32_t slot = kNoSlot;
  std::vector<Expr> path;
};

enum class ForkKind : uint8_t { Count, Each };

// A compile-time-known state operation (Append with literal text, RoleBegin, RoleEnd).
struct PrefixOp {
  NodeKind kind = NodeKind::Append;
  std::string text;  // Append: the text; RoleBegin/RoleEnd: the role name
};

struct Node {
  NodeKind kind = NodeKind::Nop;
  NodeId next = kEnd;
  NodeId alt = kEnd;  // Branch: else; ForNext: loop exit; Fork: its Join node (next too)
  SourceLoc loc;

  Expr expr;              // Append/Yield/Branch/ForInit/Assign/Eval/Return value; Select choices;
                          // Fork iterable or count. Return with no value holds ExprOp::Null.
  std::string name;       // RoleBegin/RoleEnd: role; UseTemplate: template; Gen/Select: bound name;
                          // Call/Spawn: callee name (as in Program::functions)
  LValue target;          // Gen/Select/Call/Spawn/Join/ForNext/Assign destination (slot -1: none)
  int32_t aux = kNoSlot;  // Select: slot for `name.logprobs`; ForInit/ForNext: iterator slot
  bool aux_global = false;

  std::vector<Option> options;  // Gen/Select: explicit options merged over `with` and
                                // `use defaults` ones (already resolved, innermost wins)

  int32_t callee = -1;     // Call/Spawn: index into Program::functions
  std::vector<Expr> args;  // Call/Spawn: one per callee parameter (defaults filled in)

  // Fork
  ForkKind fork_kind = ForkKind::Count;
  int32_t fork_var = kNoSlot;  // Each: slot of the branch variable (in the branch's frame copy)
  NodeId body = kEnd;          // first node of the branch body
  NodeId join = kEnd;          // the Join node (also in alt); Yield/Join: the Fork node id
  bool value_used = false;     // fork value is bound/used: every path yields (checked)
  std::vector<NodeId> prefix_nodes;     // Fork: branch-invariant leading state ops of the body
  NodeId prefix_end = kEnd;             // Fork: first body node after prefix_nodes (may be join)
  std::vector<PrefixOp> static_prefix;  // Fork/Call/Spawn: compile-time-known leading text

  std::vector<int32_t> reads;  // frame slots read by this node's expressions (await futures)
};

struct Param {
  std::string name;
  bool has_default = false;
  Expr default_value;  // constant expression
};

struct Function {
  std::string name;     // entry-file functions: bare name; imported: "alias.name" of first import
  int32_t module = -1;  // index into Program::files of the defining file
  bool is_extern = false;  // host-provided: no nodes; the runtime calls the bound callable
  std::vector<Param> params;
  std::vector<std::string> locals;  // slot names; params first; hidden temporaries start with '%'
  std::vector<Node> nodes;
  NodeId entry = kEnd;
  SourceLoc loc;
  std::vector<PrefixOp> static_prefix;  // leading constant state operations of the body
};

struct Const {
  std::string name;
  Expr value;  // literals, lists, maps, other consts and operators only
  SourceLoc loc;
};

// A chat template: how a role block is rendered into text.
struct RoleFormat {
  std::string prefix;
  std::string suffix;
};

struct Template {
  std::string name;
  std::map<std::string, RoleFormat> roles;  // "system", "user", "assistant", ...
  std::string bos;                          // text emitted once at the start of a state
  std::vector<std::string> stop;            // extra stop strings for gen inside assistant
  std::string generation_prefix;            // appended by RoleBegin("assistant") (usually "")
  SourceLoc loc;
};

struct Program {
  std::vector<std::string> files;  // source paths; SourceLoc::file indexes this
  std::vector<Function> functions;
  std::map<std::string, int32_t> function_index;  // name -> index into functions
  std::vector<Const> consts;
  std::vector<std::string> globals;           // REPL session variables (empty for files)
  std::map<std::string, Template> templates;  // every template declared or used
  std::string template_name;  // `use template` of the entry file; "" = the model's own
  int32_t entry = -1;         // index of `main` in functions, -1 if none
};

const char* node_kind_name(NodeKind k);  // "append", "role_begin", ...
const char* expr_op_name(ExprOp op);     // "null", "int", "add", ...

}  // namespace sgp::graph
