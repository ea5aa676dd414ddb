// Import resolution: loads the root file and everything it imports, detecting cycles.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"

namespace sgp::compiler {

// The stdlib folder: $SGP_STDLIB if set, else the source tree's stdlib/ (compiled in).
std::string default_stdlib_dir();

// Where `import "path"` from `importer_dir` points: relative to the importing file first, then
// (for "stdlib/..." or any other path) inside the stdlib folder. ".sgp" is added when missing.
// Returns "" when no file exists.
std::string resolve_import(const std::string& path, const std::string& importer_dir,
                           const std::string& stdlib_dir);

struct ModuleSet {
  std::vector<std::unique_ptr<ast::Module>> modules;  // [0] is the root
  std::vector<std::string> keys;                      // canonical path per module
};

// Parses the root (already in `sources` as `root_file`), then its imports depth-first, and the
// stdlib template files named by `use template` that no loaded module declares. Modules that fail
// to parse are left out (their errors are in diags). Returns false if the root failed.
bool load_modules(SourceSet& sources, int32_t root_file, const std::string& root_dir,
                  const std::string& stdlib_dir, Diagnostics& diags, ModuleSet& out);

}  // namespace sgp::compiler
