// Parsing: source text → tokens (checked) → ANTLR parse tree → ast::Module.
#pragma once

#include <memory>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"

namespace sgp::compiler {

// Brackets, braces, string interpolations and prefix operators nest at most this deep; deeper
// input gets a "nesting too deep" error instead of overflowing the recursive-descent parser.
constexpr int kMaxNesting = 256;

// Parses one file. Lexical and syntax errors are all reported to `diags`; the result is null
// when there were any (the checker never sees a half-built tree).
std::unique_ptr<ast::Module> parse_module(const SourceFile& src, int32_t file, Diagnostics& diags);

}  // namespace sgp::compiler
