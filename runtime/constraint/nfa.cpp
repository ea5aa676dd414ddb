// Nfa: Thompson construction; every fragment has one entry and one exit state.
#include "constraint/nfa.h"

#include <string>

#include "sgp/error.h"

namespace sgp::constraint {

namespace {

struct Fragment {
  int32_t in;
  int32_t out;
};

class Builder {
 public:
  Builder(const RegexAst& ast, Nfa& nfa) : ast_(ast), nfa_(nfa) {}

  Fragment build(int node_index) {
    const RegexNode& node = ast_.nodes[node_index];
    switch (node.kind) {
      case RegexNode::Kind::Empty: {
        int32_t s = add();
        return {s, s};
      }
      case RegexNode::Kind::Class:
        return build_class(node);
      case RegexNode::Kind::Concat: {
        Fragment f = build(node.children[0]);
        for (size_t i = 1; i < node.children.size(); ++i) {
          Fragment g = build(node.children[i]);
          link(f.out, g.in);
          f.out = g.out;
        }
        return f;
      }
      case RegexNode::Kind::Alt: {
        int32_t in = add(), out = add();
        for (int child : node.children) {
          Fragment g = build(child);
          link(in, g.in);
          link(g.out, out);
        }
        return {in, out};
      }
      case RegexNode::Kind::Repeat:
        return build_repeat(node);
    }
    return {add(), add()};
  }

 private:
  int32_t add() {
    if (nfa_.states.size() >= kMaxNfaStates) {
      throw sgp::Error("regex too large: its automaton would need more than " +
                       std::to_string(kMaxNfaStates) + " states (reduce counted repeats)");
    }
    nfa_.states.emplace_back();
    return static_cast<int32_t>(nfa_.states.size()) - 1;
  }
  void link(int32_t from, int32_t to) { nfa_.states[from].eps.push_back(to); }
  void edge(int32_t from, ByteRange b, int32_t to) { nfa_.states[from].edges.push_back({b, to}); }

  Fragment build_class(const RegexNode& node) {
    int32_t in = add(), out = add();
    for (CodeRange r : node.ranges) {
      for (const auto& seq : utf8_sequences(r)) {
        int32_t at = in;
        for (size_t k = 0; k < seq.size(); ++k) {
          int32_t to = k + 1 == seq.size() ? out : add();
          edge(at, seq[k], to);
          at = to;
        }
      }
    }
    return {in, out};
  }

  Fragment build_repeat(const RegexNode& node) {
    int child = node.children[0];
    int32_t in = add();
    int32_t at = in;
    for (int i = 0; i < node.min; ++i) {
      Fragment g = build(child);
      link(at, g.in);
      at = g.out;
    }
    if (node.max == kUnbounded) {
      int32_t loop = add();
      link(at, loop);
      Fragment g = build(child);
      link(loop, g.in);
      link(g.out, loop);
      return {in, loop};
    }
    // (x(x(x)?)?)?: each optional copy may be skipped straight to the exit.
    int32_t out = add();
    for (int i = node.min; i < node.max; ++i) {
      link(at, out);
      Fragment g = build(child);
      link(at, g.in);
      at = g.out;
    }
    link(at, out);
    return {in, out};
  }

  const RegexAst& ast_;
  Nfa& nfa_;
};

}  // namespace

Nfa Nfa::build(const RegexAst& ast) {
  Nfa nfa;
  Builder b(ast, nfa);
  Fragment f = b.build(ast.root);
  nfa.start = f.in;
  nfa.accept = f.out;
  return nfa;
}

}  // namespace sgp::constraint
