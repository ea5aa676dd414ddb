// `sgrun check FILE`: compile only; exit 0 when clean, 1 with diagnostics.
#include <cstdio>

#include "cli/commands.h"
#include "compiler/compile.h"

namespace sgp::cli {

void register_check(CLI::App& app, ExitCode& exit) {
  auto* cmd =
      app.add_subcommand("check", "Compile a program and report every error (exit 1 if any)");
  auto file = std::make_shared<std::string>();
  auto need_main = std::make_shared<bool>(false);
  cmd->add_option("FILE", *file, "the .sgp program")->required();
  cmd->add_flag("--main", *need_main, "also require a `main` function (as `sgrun run` does)");
  cmd->footer(
      "Diagnostics go to stderr as `file:line:col: error: message` with the source line "
      "and a caret.");
  cmd->callback([file, need_main, &exit] {
    compiler::CompileOptions options;
    options.require_main = *need_main;
    compiler::CompileResult r = compiler::compile_file(*file, options);
    if (!r.ok()) {
      std::fputs(r.format_diagnostics().c_str(), stderr);
      size_t n = r.diagnostics.count();
      std::fprintf(stderr, "%zu error%s\n", n, n == 1 ? "" : "s");
      exit.value = 1;
      return;
    }
    exit.value = 0;
  });
}

}  // namespace sgp::cli
