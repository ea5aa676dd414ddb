// Import resolution: stdlib lookup, relative paths, cycle detection, implicit template files.
#include "compiler/module_loader.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>

#include "compiler/parser.h"

#ifndef SGP_STDLIB_DIR
#define SGP_STDLIB_DIR "stdlib"
#endif

namespace sgp::compiler {

namespace fs = std::filesystem;

std::string default_stdlib_dir() {
  if (const char* env = std::getenv("SGP_STDLIB"); env && *env) return env;
  return SGP_STDLIB_DIR;
}

namespace {
bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string canonical_key(const std::string& path) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(path, ec);
  return ec ? path : c.string();
}
}  // namespace

std::string resolve_import(const std::string& path, const std::string& importer_dir,
                           const std::string& stdlib_dir) {
  if (path.empty()) return {};
  fs::path p(path);
  if (p.extension() != ".sgp") p += ".sgp";
  std::vector<fs::path> candidates;
  if (p.is_absolute()) {
    candidates.push_back(p);
  } else {
    candidates.push_back(fs::path(importer_dir) / p);
    auto first = p.begin();
    if (first != p.end() && *first == "stdlib") {
      fs::path rest;
      for (auto it = std::next(first); it != p.end(); ++it) rest /= *it;
      candidates.push_back(fs::path(stdlib_dir) / rest);
    }
    candidates.push_back(fs::path(stdlib_dir) / p);
  }
  for (const fs::path& c : candidates)
    if (is_file(c)) return c.lexically_normal().string();
  return {};
}

namespace {

void collect_template_uses(const std::vector<ast::StmtPtr>& stmts,
                           std::vector<std::pair<std::string, ast::Loc>>& out);

void collect_block(const ast::Block& b, std::vector<std::pair<std::string, ast::Loc>>& out) {
  collect_template_uses(b.stmts, out);
}

void collect_template_uses(const std::vector<ast::StmtPtr>& stmts,
                           std::vector<std::pair<std::string, ast::Loc>>& out) {
  for (const ast::StmtPtr& s : stmts) {
    if (s->kind == ast::StmtKind::UseTemplate) out.push_back({s->name, s->name_loc});
    collect_block(s->body, out);
    for (auto& [c, b] : s->elifs) collect_block(b, out);
    if (s->else_body) collect_block(*s->else_body, out);
  }
}

class Loader {
 public:
  Loader(SourceSet& sources, const std::string& stdlib_dir, Diagnostics& diags, ModuleSet& out)
      : sources_(sources), stdlib_(stdlib_dir), diags_(diags), out_(out) {}

  // Returns the module index, or -1.
  int32_t load(int32_t file, const std::string& key, const std::string& dir) {
    auto mod = parse_module(sources_.at(file), file, diags_);
    if (!mod) return -1;
    mod->path = sources_.at(file).path;
    int32_t index = static_cast<int32_t>(out_.modules.size());
    out_.modules.push_back(std::move(mod));
    out_.keys.push_back(key);
    stack_.push_back(index);
    for (size_t i = 0; i < out_.modules[index]->imports.size(); ++i) {
      ast::ImportDecl& imp = out_.modules[index]->imports[i];
      if (imp.path.empty()) continue;
      std::string resolved = resolve_import(imp.path, dir, stdlib_);
      if (resolved.empty()) {
        diags_.error(imp.loc, "cannot find module \"" + imp.path +
                                  "\" (looked next to this file "
                                  "and in the stdlib folder " +
                                  stdlib_ + ")");
        continue;
      }
      std::string k = canonical_key(resolved);
      if (imp.alias.empty()) imp.alias = fs::path(resolved).stem().string();
      int32_t existing = find(k);
      if (existing >= 0) {
        if (std::find(stack_.begin(), stack_.end(), existing) != stack_.end()) {
          std::string cycle;
          bool on = false;
          for (int32_t m : stack_) {
            if (m == existing) on = true;
            if (on) cycle += out_.modules[m]->path + " -> ";
          }
          cycle += out_.modules[existing]->path;
          diags_.error(imp.loc, "import cycle: " + cycle);
          continue;
        }
        imp.module = existing;
        continue;
      }
      std::string text;
      if (!read_file(resolved, text)) {
        diags_.error(imp.loc, "cannot read module \"" + resolved + "\"");
        continue;
      }
      int32_t f = sources_.add(resolved, std::move(text));
      imp.module = load(f, k, fs::path(resolved).parent_path().string());
    }
    stack_.pop_back();
    return index;
  }

  int32_t find(const std::string& key) const {
    for (size_t i = 0; i < out_.keys.size(); ++i)
      if (out_.keys[i] == key) return static_cast<int32_t>(i);
    return -1;
  }

  void load_templates() {
    std::set<std::string> declared, tried;
    for (size_t i = 0; i < out_.modules.size(); ++i)
      for (const auto& t : out_.modules[i]->templates) declared.insert(t.name);
    for (size_t i = 0; i < out_.modules.size(); ++i) {
      std::vector<std::pair<std::string, ast::Loc>> uses = out_.modules[i]->use_templates;
      for (const auto& fn : out_.modules[i]->fns) collect_block(fn.body, uses);
      collect_template_uses(out_.modules[i]->top_stmts, uses);
      for (const auto& [name, loc] : uses) {
        if (declared.count(name) || tried.count(name) || name.empty()) continue;
        tried.insert(name);
        bool safe = name.find_first_of("/\\.") == std::string::npos;
        fs::path p = fs::path(stdlib_) / "templates" / (name + ".sgp");
        std::string text;
        if (!safe || !is_file(p) || !read_file(p.string(), text)) continue;  // checker reports
        std::string key = canonical_key(p.string());
        if (find(key) >= 0) continue;
        int32_t f = sources_.add(p.lexically_normal().string(), std::move(text));
        int32_t m = load(f, key, p.parent_path().string());
        if (m >= 0)
          for (const auto& t : out_.modules[m]->templates) declared.insert(t.name);
      }
    }
  }

 private:
  SourceSet& sources_;
  std::string stdlib_;
  Diagnostics& diags_;
  ModuleSet& out_;
  std::vector<int32_t> stack_;
};

}  // namespace

bool load_modules(SourceSet& sources, int32_t root_file, const std::string& root_dir,
                  const std::string& stdlib_dir, Diagnostics& diags, ModuleSet& out) {
  Loader loader(sources, stdlib_dir, diags, out);
  std::string key = canonical_key(sources.at(root_file).path);
  if (loader.load(root_file, key, root_dir) != 0) return false;
  loader.load_templates();
  return true;
}

}  // namespace sgp::compiler
