// The sgrun subcommands: each file cmd_<name>.cpp registers one on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

namespace sgp::cli {

// A command's callback stores the process exit code here (CLI11 callbacks return void).
struct ExitCode {
  int value = 0;
};

void register_check(CLI::App& app, ExitCode& exit);
void register_graph(CLI::App& app, ExitCode& exit);
void register_run(CLI::App& app, ExitCode& exit);
void register_repl(CLI::App& app, ExitCode& exit);
void register_serve(CLI::App& app, ExitCode& exit);

}  // namespace sgp::cli
