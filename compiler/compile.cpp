// Driving the phases: load (parse + imports) → check → lower; REPL sessions.
#include "compiler/compile.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>

#include "compiler/checker.h"
#include "compiler/lower.h"
#include "compiler/module_loader.h"

namespace sgp::compiler {

namespace {

// ANTLR's parser and our tree walks recurse; nesting is bounded (kMaxNesting and the AST
// builder's depth limit), and this stack covers those bounds with a wide margin.
constexpr size_t kCompileStack = 512u << 20;

void run_on_big_stack(const std::function<void()>& fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kCompileStack);
  struct Ctx {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } ctx{&fn, nullptr};
  pthread_t thread;
  auto body = [](void* p) -> void* {
    auto* c = static_cast<Ctx*>(p);
    try {
      (*c->fn)();
    } catch (...) {
      c->error = std::current_exception();
    }
    return nullptr;
  };
  if (pthread_create(&thread, &attr, body, &ctx) != 0) {
    pthread_attr_destroy(&attr);
    fn();  // no thread available: run here
    return;
  }
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  if (ctx.error) std::rethrow_exception(ctx.error);
}

void compile_into(CompileResult& r, int32_t root, const std::string& root_dir,
                  const CompileOptions& options) {
  std::string stdlib = options.stdlib_dir.empty() ? default_stdlib_dir() : options.stdlib_dir;
  ModuleSet modules;
  if (!load_modules(r.sources, root, root_dir, stdlib, r.diagnostics, modules)) return;
  Symbols symbols;
  CheckOptions co;
  co.require_main = options.require_main;
  if (!check_program(modules, co, r.diagnostics, symbols) || r.diagnostics.has_errors()) return;
  r.program = lower_program(modules, symbols, r.sources);
}

// Source order reads best; phases found them in their own order.
void sort_diagnostics(Diagnostics& d) {
  d.sort();
}

void guarded(CompileResult& r, const std::function<void()>& fn) {
  try {
    run_on_big_stack(fn);
  } catch (const std::exception& e) {
    r.diagnostics.error({}, std::string("internal compiler error: ") + e.what());
  }
}

}  // namespace

CompileResult compile_file(const std::string& path, const CompileOptions& options) {
  CompileResult r;
  std::string text;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) || !read_file(path, text)) {
    r.diagnostics.error({}, "cannot read " + path);
    return r;
  }
  int32_t root = r.sources.add(path, std::move(text));
  std::string dir = std::filesystem::path(path).parent_path().string();
  guarded(r, [&] { compile_into(r, root, dir.empty() ? "." : dir, options); });
  sort_diagnostics(r.diagnostics);
  return r;
}

CompileResult compile_source(const std::string& name, const std::string& text,
                             const CompileOptions& options) {
  CompileResult r;
  int32_t root = r.sources.add(name, text);
  std::string dir = std::filesystem::path(name).parent_path().string();
  guarded(r, [&] { compile_into(r, root, dir.empty() ? "." : dir, options); });
  sort_diagnostics(r.diagnostics);
  return r;
}

Session::Session(CompileOptions options) : options_(std::move(options)) {}

Session::Snippet Session::add(const std::string& text) {
  Snippet out;
  CompileResult r;
  std::vector<std::string> all = accepted_;
  all.push_back(text);
  int32_t function = -1;
  guarded(r, [&] {
    std::string stdlib = options_.stdlib_dir.empty() ? default_stdlib_dir() : options_.stdlib_dir;
    // Every snippet so far is parsed as its own file; they merge into one root module so
    // definitions from earlier lines are visible, in order.
    ModuleSet merged;
    auto root = std::make_unique<ast::Module>();
    std::vector<int32_t> files;
    for (size_t i = 0; i < all.size(); ++i)
      files.push_back(r.sources.add("<repl:" + std::to_string(i + 1) + ">", all[i]));
    root->file = files[0];
    root->path = r.sources.at(files[0]).path;
    merged.modules.push_back(nullptr);
    merged.keys.push_back("<repl>");
    for (size_t i = 0; i < all.size(); ++i) {
      ModuleSet one;
      if (!load_modules(r.sources, files[i], ".", stdlib, r.diagnostics, one)) return;
      auto& m = *one.modules[0];
      // Imported modules join the merged set once (a module two snippets use is shared).
      std::vector<int32_t> remap(one.modules.size(), 0);
      std::vector<size_t> fresh;
      for (size_t k = 1; k < one.modules.size(); ++k) {
        auto it = std::find(merged.keys.begin(), merged.keys.end(), one.keys[k]);
        if (it != merged.keys.end()) {
          remap[k] = static_cast<int32_t>(it - merged.keys.begin());
        } else {
          remap[k] = static_cast<int32_t>(merged.keys.size());
          merged.keys.push_back(one.keys[k]);
          merged.modules.push_back(nullptr);
          fresh.push_back(k);
        }
      }
      auto fix = [&](ast::Module& mod) {
        for (auto& imp : mod.imports)
          if (imp.module > 0) imp.module = remap[imp.module];
      };
      fix(m);
      for (size_t k : fresh) {
        fix(*one.modules[k]);
        merged.modules[remap[k]] = std::move(one.modules[k]);
      }
      for (auto& x : m.imports) root->imports.push_back(std::move(x));
      for (auto& x : m.consts) root->consts.push_back(std::move(x));
      for (auto& x : m.fns) root->fns.push_back(std::move(x));
      for (auto& x : m.templates) root->templates.push_back(std::move(x));
      for (auto& x : m.defaults) root->defaults.push_back(std::move(x));
      for (auto& x : m.use_templates) root->use_templates.push_back(std::move(x));
      if (!m.top_stmts.empty()) {
        ast::FnDecl f;
        f.name = "__repl_" + std::to_string(i + 1);
        f.loc = m.top_stmts[0]->loc;
        f.repl = true;
        f.body.loc = f.loc;
        f.body.end = f.loc;
        f.body.stmts = std::move(m.top_stmts);
        root->fns.push_back(std::move(f));
      }
    }
    merged.modules[0] = std::move(root);
    Symbols symbols;
    CheckOptions co;
    co.allow_top_statements = true;
    if (!check_program(merged, co, r.diagnostics, symbols) || r.diagnostics.has_errors()) return;
    r.program = lower_program(merged, symbols, r.sources);
    auto it = r.program.function_index.find("__repl_" + std::to_string(all.size()));
    function = it == r.program.function_index.end() ? -1 : it->second;
  });
  if (!r.ok()) {
    sort_diagnostics(r.diagnostics);
    out.diagnostics = r.format_diagnostics();
    return out;
  }
  accepted_ = std::move(all);
  program_ = std::move(r.program);
  sources_ = std::move(r.sources);
  out.ok = true;
  out.function = function;
  return out;
}

}  // namespace sgp::compiler
