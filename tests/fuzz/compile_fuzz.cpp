// Fuzz target: .sgp source text → compile_source, diagnostics formatting, and a REPL snippet.
// The root file sits in a folder that does not exist, so relative imports find nothing and only
// the stdlib (and absolute .sgp paths) can be imported.
#include <cstdint>
#include <string>

#include "compiler/compile.h"
#include "fuzz_target.h"

using namespace sgp::compiler;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // long inputs only slow the search down
  std::string text(reinterpret_cast<const char*>(data), size);
  CompileOptions options;
  options.stdlib_dir = sgp::fuzz::source_dir() + "/stdlib";
  options.require_main = size > 0 && (data[0] & 1);
  CompileResult r = compile_source("/nonexistent-sgp-fuzz/input.sgp", text, options);
  if (!r.ok()) {
    if (r.format_diagnostics().empty()) __builtin_trap();  // a failure always says why
  }
  // The REPL path takes the same text as a snippet (statements wrapped into a function).
  if (size > 0 && (data[0] & 2)) {
    Session session(options);
    Session::Snippet s = session.add(text);
    if (!s.ok && s.diagnostics.empty()) __builtin_trap();
  }
  return 0;
}
