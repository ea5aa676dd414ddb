// sgrun: the command-line front door (compile, inspect and — as they land — run .sgp programs).
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "sgp/error.h"

int main(int argc, char** argv) {
  CLI::App app{"sgrun: compile, inspect and run .sgp generation programs", "sgrun"};
  app.set_version_flag("--version", "sgrun 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);
  sgp::cli::ExitCode exit;
  sgp::cli::register_check(app, exit);
  sgp::cli::register_graph(app, exit);
  sgp::cli::register_run(app, exit);
  sgp::cli::register_repl(app, exit);
  sgp::cli::register_serve(app, exit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sgp::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 2;
  }
  return exit.value;
}
