// `sgrun graph FILE [--format dot|json]`: print the execution graph the runtime would run.
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "compiler/compile.h"
#include "compiler/graph_dot.h"
#include "compiler/graph_json.h"

namespace sgp::cli {

void register_graph(CLI::App& app, ExitCode& exit) {
  auto* cmd = app.add_subcommand("graph", "Compile a program and print its execution graph");
  struct Args {
    std::string file, format = "dot", out;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("FILE", args->file, "the .sgp program")->required();
  cmd->add_option("-f,--format", args->format, "dot (Graphviz) or json")
      ->check(CLI::IsMember({"dot", "json"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->out, "write to this file instead of stdout");
  cmd->footer("Example: sgrun graph examples/hello.sgp --format dot | dot -Tsvg > hello.svg");
  cmd->callback([args, &exit] {
    compiler::CompileResult r = compiler::compile_file(args->file);
    if (!r.ok()) {
      std::fputs(r.format_diagnostics().c_str(), stderr);
      exit.value = 1;
      return;
    }
    std::string text = args->format == "json" ? graph::to_json(r.program).dump(2) + "\n"
                                              : graph::to_dot(r.program);
    if (args->out.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::ofstream f(args->out, std::ios::binary);
      f << text;
      if (!f) {
        std::fprintf(stderr, "error: cannot write %s\n", args->out.c_str());
        exit.value = 1;
        return;
      }
    }
    exit.value = 0;
  });
}

}  // namespace sgp::cli
