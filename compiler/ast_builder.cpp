// Parse tree → AST. Literals are decoded here (escapes, dedent, numbers).
#include "compiler/ast_builder.h"

#include <SgpLexer.h>

#include <cerrno>
#include <cstdlib>

#include "compiler/parser.h"
#include "compiler/string_literal.h"

namespace sgp::compiler {

namespace {

using antlr::Sgp;
using namespace ast;

// Expressions deeper than this (e.g. a 5,000-term `a + b + ...` chain, which the parser builds
// without recursion) are rejected so later recursive phases stay within the stack.
constexpr int kMaxExprDepth = 1000;

class Builder {
 public:
  Builder(int32_t file, Diagnostics& diags) : file_(file), diags_(diags) {}
  bool failed = false;

  Loc loc(const antlr4::Token* t) const {
    return {file_, static_cast<int32_t>(t->getLine()),
            static_cast<int32_t>(t->getCharPositionInLine()) + 1};
  }
  Loc loc(antlr4::tree::TerminalNode* n) const { return loc(n->getSymbol()); }
  Loc loc(antlr4::ParserRuleContext* c) const { return loc(c->getStart()); }

  void error(Loc l, std::string msg) {
    failed = true;
    diags_.error(l, std::move(msg));
  }

  std::unique_ptr<Module> module(Sgp::ProgramContext* p) {
    auto m = std::make_unique<Module>();
    m->file = file_;
    for (auto* item : p->topItem()) {
      if (auto* d = item->importDecl()) {
        ImportDecl imp;
        imp.loc = loc(d->string());
        imp.path = plain_string(d->string(), "an import path");
        if (d->ID()) imp.alias = d->ID()->getText();
        m->imports.push_back(std::move(imp));
      } else if (auto* d = item->constDecl()) {
        m->consts.push_back({d->ID()->getText(), loc(d->ID()), expr(d->expr())});
      } else if (auto* d = item->externDecl()) {
        FnDecl f;
        f.name = d->ID()->getText();
        f.loc = loc(d->ID());
        f.is_extern = true;
        if (d->paramList()) f.params = params(d->paramList());
        m->fns.push_back(std::move(f));
      } else if (auto* d = item->fnDecl()) {
        FnDecl f;
        f.name = d->ID()->getText();
        f.loc = loc(d->ID());
        if (d->paramList()) f.params = params(d->paramList());
        f.body = block(d->block());
        m->fns.push_back(std::move(f));
      } else if (auto* d = item->templateDecl()) {
        TemplateDecl t;
        t.name = d->ID()->getText();
        t.loc = loc(d->ID());
        for (auto* f : d->field()) t.fields.push_back(option(f));
        m->templates.push_back(std::move(t));
      } else if (auto* d = item->useDefaults()) {
        if (d->ID()->getText() != "defaults") {
          error(loc(d->ID()), "expected 'defaults' or 'template' after 'use', found name '" +
                                  d->ID()->getText() + "'");
          continue;
        }
        if (m->defaults.empty()) m->defaults_loc = loc(d);
        for (auto* f : d->optionList()->field()) m->defaults.push_back(option(f));
      } else if (auto* s = item->statement()) {
        if (auto* u = dynamic_cast<Sgp::UseTemplateStmtContext*>(s)) {
          m->use_templates.push_back(
              {plain_string(u->string(), "a template name"), loc(u->string())});
          continue;
        }
        if (StmtPtr st = stmt(s)) m->top_stmts.push_back(std::move(st));
      }
    }
    return m;
  }

 private:
  int32_t file_;
  Diagnostics& diags_;
  int depth_ = 0;

  std::vector<Param> params(Sgp::ParamListContext* pl) {
    std::vector<Param> out;
    for (auto* p : pl->param())
      out.push_back({p->ID()->getText(), loc(p->ID()), p->expr() ? expr(p->expr()) : nullptr});
    return out;
  }

  Option option(Sgp::FieldContext* f) {
    return {f->ID()->getText(), loc(f->ID()), expr(f->expr())};
  }

  std::vector<Option> options(Sgp::OptionListContext* ol) {
    std::vector<Option> out;
    if (ol)
      for (auto* f : ol->field()) out.push_back(option(f));
    return out;
  }

  Block block(Sgp::BlockContext* b) {
    Block out;
    out.loc = loc(b->LBRACE());
    out.end = loc(b->RBRACE());
    for (auto* s : b->statement())
      if (StmtPtr st = stmt(s)) out.stmts.push_back(std::move(st));
    return out;
  }

  StmtPtr make(StmtKind k, antlr4::ParserRuleContext* c) {
    auto s = std::make_unique<Stmt>();
    s->kind = k;
    s->loc = loc(c);
    return s;
  }

  StmtPtr stmt(Sgp::StatementContext* c) {
    if (auto* s = dynamic_cast<Sgp::LetStmtContext*>(c)) {
      auto st = make(StmtKind::Let, s);
      st->name = s->ID()->getText();
      st->name_loc = loc(s->ID());
      st->value = expr(s->expr());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::ExprStmtContext*>(c)) {
      auto exprs = s->expr();
      if (exprs.size() == 2) {
        auto st = make(StmtKind::Assign, s);
        st->target = expr(exprs[0]);
        st->value = expr(exprs[1]);
        return st;
      }
      auto st = make(StmtKind::Expr, s);
      st->value = expr(exprs[0]);
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::IfStmtContext*>(c)) {
      auto st = make(StmtKind::If, s);
      auto conds = s->expr();
      auto blocks = s->block();
      st->value = expr(conds[0]);
      st->body = block(blocks[0]);
      for (size_t i = 1; i < conds.size(); ++i)
        st->elifs.emplace_back(expr(conds[i]), block(blocks[i]));
      if (blocks.size() > conds.size())
        st->else_body = std::make_unique<Block>(block(blocks.back()));
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::ForStmtContext*>(c)) {
      auto st = make(StmtKind::For, s);
      st->name = s->ID()->getText();
      st->name_loc = loc(s->ID());
      st->value = expr(s->expr());
      st->body = block(s->block());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::WhileStmtContext*>(c)) {
      auto st = make(StmtKind::While, s);
      st->value = expr(s->expr());
      st->body = block(s->block());
      return st;
    }
    if (dynamic_cast<Sgp::BreakStmtContext*>(c)) return make(StmtKind::Break, c);
    if (dynamic_cast<Sgp::ContinueStmtContext*>(c)) return make(StmtKind::Continue, c);
    if (auto* s = dynamic_cast<Sgp::ReturnStmtContext*>(c)) {
      auto st = make(StmtKind::Return, s);
      if (s->expr()) st->value = expr(s->expr());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::YieldStmtContext*>(c)) {
      auto st = make(StmtKind::Yield, s);
      st->value = expr(s->expr());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::GenStmtContext*>(c)) {
      auto st = make(StmtKind::Gen, s);
      st->name = s->ID()->getText();
      st->name_loc = loc(s->ID());
      st->options = options(s->optionList());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::SelectStmtContext*>(c)) {
      auto st = make(StmtKind::Select, s);
      st->name = s->ID()->getText();
      st->name_loc = loc(s->ID());
      st->value = expr(s->expr());
      st->options = options(s->optionList());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::WithStmtContext*>(c)) {
      auto st = make(StmtKind::With, s);
      st->options = options(s->optionList());
      st->body = block(s->block());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::UseTemplateStmtContext*>(c)) {
      auto st = make(StmtKind::UseTemplate, s);
      st->name = plain_string(s->string(), "a template name");
      st->name_loc = loc(s->string());
      return st;
    }
    if (auto* s = dynamic_cast<Sgp::RoleStmtContext*>(c)) {
      auto st = make(StmtKind::Role, s);
      st->name = s->ID()->getText();
      st->name_loc = loc(s->ID());
      st->body = block(s->block());
      return st;
    }
    return nullptr;  // empty statement
  }

  ExprPtr make(ExprKind k, Loc l) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->loc = l;
    return e;
  }

  ExprPtr expr(Sgp::ExprContext* c) {
    if (depth_ >= kMaxExprDepth) {
      if (!failed || depth_ == kMaxExprDepth)
        error(loc(c), "nesting too deep: expression has more than " +
                          std::to_string(kMaxExprDepth) + " levels");
      return make(ExprKind::Null, loc(c));
    }
    ++depth_;
    ExprPtr e = expr_inner(c);
    --depth_;
    return e;
  }

  ExprPtr expr_inner(Sgp::ExprContext* c) {
    if (auto* p = dynamic_cast<Sgp::PrimaryExprContext*>(c)) return primary(p->primary());
    if (auto* x = dynamic_cast<Sgp::CallExprContext*>(c)) {
      auto e = make(ExprKind::Call, loc(x->LPAREN()));
      e->kids.push_back(expr(x->expr()));
      e->loc = e->kids[0]->loc;
      if (x->argList())
        for (auto* a : x->argList()->arg()) {
          Arg arg;
          if (a->ID()) {
            arg.name = a->ID()->getText();
            arg.name_loc = loc(a->ID());
          }
          arg.value = expr(a->expr());
          e->args.push_back(std::move(arg));
        }
      return e;
    }
    if (auto* x = dynamic_cast<Sgp::IndexExprContext*>(c)) {
      auto e = make(ExprKind::Index, loc(x->LBRACK()));
      e->kids.push_back(expr(x->expr(0)));
      e->kids.push_back(expr(x->expr(1)));
      return e;
    }
    if (auto* x = dynamic_cast<Sgp::FieldExprContext*>(c)) {
      auto e = make(ExprKind::Field, loc(x->ID()));
      e->s = x->ID()->getText();
      e->kids.push_back(expr(x->expr()));
      return e;
    }
    if (auto* x = dynamic_cast<Sgp::PrefixExprContext*>(c)) {
      bool spawn = x->op->getType() == antlr::SgpLexer::SPAWN;
      auto e = make(spawn ? ExprKind::Spawn : ExprKind::Unary, loc(x->op));
      e->s = x->op->getText();
      e->kids.push_back(expr(x->expr()));
      return e;
    }
    if (auto* x = dynamic_cast<Sgp::NotExprContext*>(c)) {
      auto e = make(ExprKind::Unary, loc(x->NOT()));
      e->s = "not";
      e->kids.push_back(expr(x->expr()));
      return e;
    }
    auto* x = dynamic_cast<Sgp::BinaryExprContext*>(c);
    auto e = make(ExprKind::Binary, loc(x->op));
    e->s = x->op->getText();
    e->kids.push_back(expr(x->expr(0)));
    e->kids.push_back(expr(x->expr(1)));
    return e;
  }

  ExprPtr primary(Sgp::PrimaryContext* c) {
    Loc l = loc(c);
    if (auto* p = dynamic_cast<Sgp::IntLitContext*>(c)) {
      auto e = make(ExprKind::Int, l);
      errno = 0;
      const std::string text = p->INT()->getText();
      e->i = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) error(l, "integer literal " + text + " is too large (max 2^63-1)");
      return e;
    }
    if (auto* p = dynamic_cast<Sgp::FloatLitContext*>(c)) {
      auto e = make(ExprKind::Float, l);
      e->f = std::strtod(p->FLOAT()->getText().c_str(), nullptr);
      return e;
    }
    if (auto* p = dynamic_cast<Sgp::BoolLitContext*>(c)) {
      auto e = make(ExprKind::Bool, l);
      e->b = p->TRUE_LIT() != nullptr;
      return e;
    }
    if (dynamic_cast<Sgp::NullLitContext*>(c)) return make(ExprKind::Null, l);
    if (auto* p = dynamic_cast<Sgp::StringLitContext*>(c)) return string(p->string());
    if (auto* p = dynamic_cast<Sgp::NameRefContext*>(c)) {
      auto e = make(ExprKind::Name, l);
      e->s = p->ID()->getText();
      return e;
    }
    if (auto* p = dynamic_cast<Sgp::ParenExprContext*>(c)) return expr(p->expr());
    if (auto* p = dynamic_cast<Sgp::ListLitContext*>(c)) {
      auto e = make(ExprKind::List, l);
      for (auto* x : p->expr()) e->kids.push_back(expr(x));
      return e;
    }
    if (auto* p = dynamic_cast<Sgp::MapLitContext*>(c)) {
      auto e = make(ExprKind::Map, l);
      for (auto* me : p->mapEntry()) {
        e->kids.push_back(expr(me->expr(0)));
        e->kids.push_back(expr(me->expr(1)));
      }
      return e;
    }
    auto* p = dynamic_cast<Sgp::ForkExprContext*>(c);
    auto e = make(ExprKind::Fork, l);
    if (p->ID()) {
      e->fork_var = p->ID()->getText();
      e->fork_var_loc = loc(p->ID());
    }
    e->kids.push_back(expr(p->expr()));
    e->body = std::make_unique<Block>(block(p->block()));
    return e;
  }

  // Strings that must be literal (import paths, template names).
  std::string plain_string(Sgp::StringContext* c, const char* what) {
    ExprPtr e = string(c);
    if (e->kind != ExprKind::Str) {
      error(loc(c), std::string(what) + " must be a plain string without interpolation");
      return {};
    }
    return e->s;
  }

  ExprPtr string(Sgp::StringContext* c) {
    Loc l = loc(c);
    if (auto* r = dynamic_cast<Sgp::RawStringContext*>(c)) {
      auto e = make(ExprKind::Str, l);
      std::string t = r->RAW_STRING()->getText();
      e->s = t.substr(2, t.size() - 3);
      e->raw = true;
      return e;
    }
    if (auto* r = dynamic_cast<Sgp::RawTripleStringContext*>(c)) {
      auto e = make(ExprKind::Str, l);
      std::string t = r->RAW_TSTRING()->getText();
      std::vector<LiteralPiece> pieces{{true, t.substr(4, t.size() - 7), -1}};
      dedent(pieces);
      e->s = pieces[0].text;
      e->raw = true;
      return e;
    }
    auto* q = dynamic_cast<Sgp::QuotedStringContext*>(c);
    bool triple = q->open->getType() == antlr::SgpLexer::TRIPLE_OPEN;
    // Pieces: raw text (dedent applies), decoded text (it doesn't), or an interpolation.
    std::vector<LiteralPiece> pieces;
    std::vector<ExprPtr> interps;
    auto add_text = [&](bool is_text, const std::string& s) {
      if (!pieces.empty() && pieces.back().is_text == is_text && pieces.back().interp < 0)
        pieces.back().text += s;
      else
        pieces.push_back({is_text, s, -1});
    };
    auto parts = q->strPart();
    for (size_t i = 0; i < parts.size(); ++i) {
      auto* part = parts[i];
      if (auto* t = dynamic_cast<Sgp::TextPartContext*>(part)) {
        add_text(true, t->getText());
      } else if (auto* t = dynamic_cast<Sgp::EscapePartContext*>(part)) {
        std::string out, err;
        std::string next;
        if (i + 1 < parts.size() && dynamic_cast<Sgp::EscapePartContext*>(parts[i + 1]))
          next = parts[i + 1]->getText();
        size_t used = 0;
        if (!decode_escape(t->getText(), next, out, used, err)) error(loc(t), err);
        if (used > 0) ++i;
        add_text(false, out);
      } else if (auto* t = dynamic_cast<Sgp::BracePartContext*>(part)) {
        add_text(false, t->getText().substr(0, 1));
      } else if (auto* t = dynamic_cast<Sgp::InterpPartContext*>(part)) {
        pieces.push_back({false, {}, static_cast<int>(interps.size())});
        interps.push_back(expr(t->expr()));
      }
    }
    if (triple) dedent(pieces);
    // Merge into Str / Interp parts.
    auto e = make(ExprKind::Interp, l);
    std::string acc;
    for (LiteralPiece& p : pieces) {
      if (p.interp >= 0) {
        if (!acc.empty()) {
          auto s = make(ExprKind::Str, l);
          s->s = std::move(acc);
          acc.clear();
          e->kids.push_back(std::move(s));
        }
        e->kids.push_back(std::move(interps[p.interp]));
      } else {
        acc += p.text;
      }
    }
    if (e->kids.empty()) {
      auto s = make(ExprKind::Str, l);
      s->s = std::move(acc);
      return s;
    }
    if (!acc.empty()) {
      auto s = make(ExprKind::Str, l);
      s->s = std::move(acc);
      e->kids.push_back(std::move(s));
    }
    return e;
  }
};

}  // namespace

std::unique_ptr<ast::Module> build_ast(antlr::Sgp::ProgramContext* tree, int32_t file,
                                       Diagnostics& diags) {
  Builder b(file, diags);
  auto m = b.module(tree);
  if (b.failed) return nullptr;
  return m;
}

}  // namespace sgp::compiler
