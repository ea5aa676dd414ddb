// Parsing: UTF-8 validation, a token pre-scan for lexical errors and nesting depth, then the
// ANTLR parser (SLL first, full LL on failure) with readable syntax error messages.
#include "compiler/parser.h"

#include <Sgp.h>
#include <SgpLexer.h>
#include <antlr4-runtime.h>

#include "compiler/ast_builder.h"

namespace sgp::compiler {

namespace {

using antlr::Sgp;
using antlr::SgpLexer;

// The lexer pops a mode on every '}'; an unbalanced one at top level must not throw.
class SafeLexer : public SgpLexer {
 public:
  using SgpLexer::SgpLexer;
  size_t popMode() override {
    if (modeStack.empty()) return mode;
    return SgpLexer::popMode();
  }
};

graph::SourceLoc loc_of(const antlr4::Token* t, int32_t file) {
  return {file, static_cast<int32_t>(t->getLine()),
          static_cast<int32_t>(t->getCharPositionInLine()) + 1};
}

// Reports invalid UTF-8 (ANTLR's input stream would throw on it). Returns true when clean.
bool check_utf8(const SourceFile& src, int32_t file, Diagnostics& diags) {
  const std::string& s = src.text;
  int line = 1, col = 1, bad = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80)
      n = 1, cp = c;
    else if ((c & 0xE0) == 0xC0)
      n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      n = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      n = 4, cp = c & 0x07;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
               cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (!ok) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02X", c);
      diags.error({file, line, col}, buf);
      if (++bad >= 10 || diags.full()) return false;
      n = 1;
    }
    if (c == '\n')
      ++line, col = 1;
    else
      ++col;
    i += n;
  }
  return bad == 0;
}

std::string describe_token(const antlr4::Token* t) {
  size_t type = t->getType();
  std::string text = t->getText();
  if (text.size() > 30) text = text.substr(0, 30) + "...";
  switch (type) {
    case antlr4::Token::EOF:
      return "end of file";
    case SgpLexer::ID:
      return "name '" + text + "'";
    case SgpLexer::INT:
    case SgpLexer::FLOAT:
      return "number " + text;
    case SgpLexer::STR_OPEN:
    case SgpLexer::TRIPLE_OPEN:
    case SgpLexer::RAW_STRING:
    case SgpLexer::RAW_TSTRING:
      return "a string";
    case SgpLexer::STR_TEXT:
    case SgpLexer::STR_ESCAPE:
      return "string text";
    default:
      return "'" + text + "'";
  }
}

const std::vector<size_t>& expr_starts() {
  static const std::vector<size_t> v = {
      SgpLexer::INT,         SgpLexer::FLOAT,    SgpLexer::TRUE_LIT,    SgpLexer::FALSE_LIT,
      SgpLexer::NULL_LIT,    SgpLexer::STR_OPEN, SgpLexer::TRIPLE_OPEN, SgpLexer::RAW_STRING,
      SgpLexer::RAW_TSTRING, SgpLexer::ID,       SgpLexer::LPAREN,      SgpLexer::LBRACK,
      SgpLexer::LBRACE,      SgpLexer::FORK,     SgpLexer::MINUS,       SgpLexer::SPAWN,
      SgpLexer::NOT};
  return v;
}
const std::vector<size_t>& stmt_starts() {
  static const std::vector<size_t> v = {
      SgpLexer::LET,      SgpLexer::IF,     SgpLexer::FOR,   SgpLexer::WHILE, SgpLexer::BREAK,
      SgpLexer::CONTINUE, SgpLexer::RETURN, SgpLexer::YIELD, SgpLexer::GEN,   SgpLexer::SELECT,
      SgpLexer::WITH,     SgpLexer::USE,    SgpLexer::SEMI};
  return v;
}
const std::vector<size_t>& decl_starts() {
  static const std::vector<size_t> v = {SgpLexer::IMPORT, SgpLexer::CONST, SgpLexer::EXTERN,
                                        SgpLexer::FN, SgpLexer::TEMPLATE};
  return v;
}

// "an expression or ')'" rather than ANTLR's raw token set.
std::string describe_expected(const antlr4::misc::IntervalSet& set,
                              const antlr4::dfa::Vocabulary& vocab) {
  std::vector<size_t> types;
  for (ssize_t t : set.toList()) types.push_back(static_cast<size_t>(t));
  auto has = [&](size_t t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  auto drop = [&](const std::vector<size_t>& group) {
    std::erase_if(
        types, [&](size_t t) { return std::find(group.begin(), group.end(), t) != group.end(); });
  };
  std::vector<std::string> items;
  std::string lead;
  if (has(SgpLexer::IMPORT) && has(SgpLexer::FN)) {
    drop(decl_starts()), drop(stmt_starts()), drop(expr_starts());
    lead = "a declaration";
  } else if (has(SgpLexer::LET) && has(SgpLexer::IF)) {
    drop(stmt_starts()), drop(expr_starts());
    lead = "a statement";
  } else if (has(SgpLexer::INT) && has(SgpLexer::ID)) {
    drop(expr_starts());
    lead = "an expression";
  }
  if (!lead.empty()) items.push_back(lead);
  for (size_t t : types) {
    if (t == antlr4::Token::EOF) {
      items.push_back("end of file");
      continue;
    }
    std::string lit = vocab.getLiteralName(t);
    if (t == SgpLexer::LBRACE) lit = "'{'";
    if (t == SgpLexer::RBRACE) lit = "'}'";
    if (!lit.empty())
      items.push_back(lit);
    else if (t == SgpLexer::ID)
      items.push_back("a name");
    else if (t == SgpLexer::INT || t == SgpLexer::FLOAT)
      items.push_back("a number");
    else if (t == SgpLexer::STR_OPEN || t == SgpLexer::RAW_STRING) {
      if (std::find(items.begin(), items.end(), "a string") == items.end())
        items.push_back("a string");
    } else if (t == SgpLexer::STR_CLOSE)
      items.push_back("'\"'");
    else if (t == SgpLexer::TRIPLE_OPEN || t == SgpLexer::RAW_TSTRING) {
      if (std::find(items.begin(), items.end(), "a string") == items.end())
        items.push_back("a string");
    } else if (t == SgpLexer::STR_TEXT || t == SgpLexer::STR_ESCAPE || t == SgpLexer::STR_LBRACE2 ||
               t == SgpLexer::STR_RBRACE2 || t == SgpLexer::STR_RBRACE ||
               t == SgpLexer::INTERP_OPEN) {
      if (std::find(items.begin(), items.end(), "string text") == items.end())
        items.push_back("string text");
    } else
      items.push_back(vocab.getDisplayName(t));
  }
  if (items.size() > 6) {
    items.resize(5);
    items.push_back("...");
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out.empty() ? "something else" : out;
}

// Syntax errors phrased as "expected X, found Y"; collected into Diagnostics.
class ErrorStrategy : public antlr4::DefaultErrorStrategy {
 public:
  ErrorStrategy(int32_t file, Diagnostics& diags) : file_(file), diags_(diags) {}
  size_t errors = 0;

 protected:
  void emit(const antlr4::Token* t, const std::string& msg) {
    ++errors;
    // One error per line is enough: recovery inside a broken line mostly produces echoes.
    if (static_cast<int64_t>(t->getLine()) == last_line_) return;
    last_line_ = static_cast<int64_t>(t->getLine());
    diags_.error(loc_of(t, file_), msg);
  }
  void reportNoViableAlternative(antlr4::Parser* p,
                                 const antlr4::NoViableAltException& e) override {
    auto* t = e.getOffendingToken();
    std::string msg = "unexpected " + describe_token(t);
    auto expected = p->getExpectedTokens();
    if (expected.size() > 0 && expected.size() < 8)
      msg += "; expected " + describe_expected(expected, p->getVocabulary());
    emit(t, msg);
  }
  void reportInputMismatch(antlr4::Parser* p, const antlr4::InputMismatchException& e) override {
    emit(e.getOffendingToken(), "expected " +
                                    describe_expected(e.getExpectedTokens(), p->getVocabulary()) +
                                    ", found " + describe_token(e.getOffendingToken()));
  }
  void reportFailedPredicate(antlr4::Parser*, const antlr4::FailedPredicateException& e) override {
    emit(e.getOffendingToken(), "unexpected " + describe_token(e.getOffendingToken()));
  }
  void reportUnwantedToken(antlr4::Parser* p) override {
    if (inErrorRecoveryMode(p)) return;
    beginErrorCondition(p);
    antlr4::Token* t = p->getCurrentToken();
    emit(t, "unexpected " + describe_token(t) + "; expected " +
                describe_expected(getExpectedTokens(p), p->getVocabulary()));
  }
  void reportMissingToken(antlr4::Parser* p) override {
    if (inErrorRecoveryMode(p)) return;
    beginErrorCondition(p);
    antlr4::Token* t = p->getCurrentToken();
    emit(t, "expected " + describe_expected(getExpectedTokens(p), p->getVocabulary()) + ", found " +
                describe_token(t));
  }

 private:
  int32_t file_;
  Diagnostics& diags_;
  int64_t last_line_ = -1;
};

// Lexical errors, unterminated strings, unclosed brackets and nesting depth, from the tokens
// alone, before the recursive parser runs. Returns true when the parser may run.
bool prescan(antlr4::CommonTokenStream& tokens, int32_t file, Diagnostics& diags, int& bad_chars) {
  struct Open {
    size_t type;
    const antlr4::Token* tok;
  };
  std::vector<Open> stack;
  bool ok = true;
  int prefix_run = 0;
  for (antlr4::Token* t : tokens.getTokens()) {
    size_t type = t->getType();
    if (type == SgpLexer::MINUS || type == SgpLexer::NOT || type == SgpLexer::SPAWN) {
      if (++prefix_run > kMaxNesting) {
        diags.error(loc_of(t, file), "nesting too deep: more than " + std::to_string(kMaxNesting) +
                                         " prefix operators in a row");
        return false;
      }
    } else {
      prefix_run = 0;
    }
    switch (type) {
      case SgpLexer::BAD_CHAR: {
        std::string text = t->getText();
        unsigned char c = text.empty() ? 0 : static_cast<unsigned char>(text[0]);
        char buf[64];
        if (c < 0x20 || c == 0x7F)
          std::snprintf(buf, sizeof buf, "unexpected character U+%04X", c);
        else
          std::snprintf(buf, sizeof buf, "unexpected character '%s'", text.c_str());
        diags.error(loc_of(t, file), buf);
        // Hidden from the parser, so the syntax around it is still checked and reported.
        if (auto* ct = dynamic_cast<antlr4::CommonToken*>(t))
          ct->setChannel(antlr4::Token::HIDDEN_CHANNEL);
        else
          ok = false;
        ++bad_chars;
        if (diags.full()) return false;
        break;
      }
      case SgpLexer::STR_BAD_ESCAPE:
        diags.error(loc_of(t, file), "invalid escape sequence '" + t->getText() + "'");
        ok = false;
        break;
      case SgpLexer::STR_NEWLINE: {
        const antlr4::Token* open = t;
        for (auto it = stack.rbegin(); it != stack.rend(); ++it)
          if (it->type == SgpLexer::STR_OPEN) {
            open = it->tok;
            break;
          }
        diags.error(loc_of(open, file),
                    "unterminated string (a \"...\" string ends at the end of its line; use "
                    "\"\"\"...\"\"\" for text that spans lines)");
        return false;
      }
      case SgpLexer::STR_OPEN:
      case SgpLexer::TRIPLE_OPEN:
      case SgpLexer::INTERP_OPEN:
      case SgpLexer::LBRACE:
      case SgpLexer::LPAREN:
      case SgpLexer::LBRACK:
        stack.push_back({type, t});
        if (static_cast<int>(stack.size()) > kMaxNesting) {
          diags.error(loc_of(t, file), "nesting too deep: more than " +
                                           std::to_string(kMaxNesting) +
                                           " levels of brackets, braces or strings");
          return false;
        }
        break;
      case SgpLexer::STR_CLOSE:
        if (!stack.empty()) stack.pop_back();
        break;
      case SgpLexer::RBRACE:
      case SgpLexer::RPAREN:
      case SgpLexer::RBRACK: {
        size_t want = type == SgpLexer::RPAREN   ? SgpLexer::LPAREN
                      : type == SgpLexer::RBRACK ? SgpLexer::LBRACK
                                                 : SgpLexer::LBRACE;
        // Only pop a match; a stray closer is left for the parser to report in context.
        if (!stack.empty() &&
            (stack.back().type == want ||
             (want == SgpLexer::LBRACE && stack.back().type == SgpLexer::INTERP_OPEN)))
          stack.pop_back();
        break;
      }
      case antlr4::Token::EOF:
        for (const Open& o : stack) {
          if (o.type == SgpLexer::STR_OPEN || o.type == SgpLexer::TRIPLE_OPEN) {
            diags.error(loc_of(o.tok, file), "unterminated string: end of file inside it");
            return false;
          }
        }
        if (!stack.empty()) {
          const Open& o = stack.back();
          std::string what = o.type == SgpLexer::LPAREN   ? "'('"
                             : o.type == SgpLexer::LBRACK ? "'['"
                                                          : "'{'";
          diags.error(loc_of(o.tok, file), what + " is never closed");
          return false;
        }
        break;
      default:
        break;
    }
  }
  return ok;
}

}  // namespace

std::unique_ptr<ast::Module> parse_module(const SourceFile& src, int32_t file, Diagnostics& diags) {
  if (!check_utf8(src, file, diags)) return nullptr;
  antlr4::ANTLRInputStream input(src.text);
  SafeLexer lexer(&input);
  lexer.removeErrorListeners();  // every character lexes (BAD_CHAR); nothing to report here
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  int bad_chars = 0;
  if (!prescan(tokens, file, diags, bad_chars)) return nullptr;

  Sgp parser(&tokens);
  parser.removeErrorListeners();
  // Fast path: SLL prediction, bail on the first error; only then rerun with full LL and
  // error recovery so every syntax error is reported.
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
      antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  Sgp::ProgramContext* tree = nullptr;
  try {
    tree = parser.program();
  } catch (const antlr4::ParseCancellationException&) {
    tree = nullptr;
  }
  if (!tree) {
    tokens.seek(0);
    parser.reset();
    auto strategy = std::make_shared<ErrorStrategy>(file, diags);
    parser.setErrorHandler(strategy);
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::LL);
    tree = parser.program();
    if (strategy->errors > 0 || parser.getNumberOfSyntaxErrors() > 0) return nullptr;
  }
  if (bad_chars > 0) return nullptr;
  return build_ast(tree, file, diags);
}

}  // namespace sgp::compiler
