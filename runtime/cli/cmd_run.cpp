// `sgrun run FILE k=v ...`: run a program's main once, or once per line of a JSONL batch.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <utility>

#include "cli/batch_runner.h"
#include "cli/commands.h"
#include "cli/extern_command.h"
#include "cli/model_flags.h"
#include "compiler/compile.h"
#include "interp/asio.h"
#include "interp/interpreter.h"
#include "sgp/error.h"

namespace sgp::cli {

namespace asio = boost::asio;

namespace {

struct RunFlags {
  std::string file;
  std::vector<std::string> kv;
  std::string args_file, batch, out, trace;
  int parallel = 16;
  std::vector<std::string> externs;
  double extern_timeout = 30;
  int64_t max_steps = 1'000'000;
  bool greedy = false, no_stream = false, quiet = false, no_progress = false, resume = false;
  ModelFlags model;
};

// k=v: the value is JSON when it parses as JSON (numbers, true, lists...), else the raw string.
interp::Value parse_cli_value(const std::string& text) {
  auto j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return interp::Value(text);
  return interp::from_json(j);
}

interp::Map collect_args(const RunFlags& f) {
  interp::Map args;
  if (!f.args_file.empty()) {
    std::ifstream in(f.args_file);
    if (!in) throw Error("cannot read --args file: " + f.args_file);
    auto j = nlohmann::ordered_json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw Error("--args file must hold one JSON object: " + f.args_file);
    args = interp::from_json(j).as_map();
  }
  for (const std::string& s : f.kv) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("arguments are name=value, got '" + s + "'");
    args[s.substr(0, eq)] = parse_cli_value(s.substr(eq + 1));
  }
  return args;
}

int run(const RunFlags& f) {
  compiler::CompileOptions copts;
  copts.require_main = true;
  compiler::CompileResult cr = compiler::compile_file(f.file, copts);
  if (!cr.ok()) {
    std::fputs(cr.format_diagnostics().c_str(), stderr);
    return 1;
  }
  interp::Map args = collect_args(f);
  auto program = std::make_shared<const graph::Program>(std::move(cr.program));
  auto client = f.model.open();

  asio::io_context io(1);
  asio::thread_pool pool(4);  // extern commands block; they never run on the io thread
  interp::HostFunctions hosts;
  for (const std::string& spec : f.externs) {
    auto [name, command] = parse_extern_binding(spec);
    bool declared = false;
    for (const auto& fn : program->functions)
      declared = declared || (fn.is_extern && (fn.name == name || fn.name.ends_with("." + name)));
    if (!declared)
      std::fprintf(stderr, "warning: --extern %s: the program declares no such extern\n",
                   name.c_str());
    hosts[name] = make_extern_command(command, f.extern_timeout, pool);
  }
  interp::Interpreter interp(io.get_executor(), client, program, std::move(hosts));

  interp::RunOptions opts;
  opts.max_steps = f.max_steps;
  opts.greedy = f.greedy;
  if (f.model.seed_set) opts.seed = f.model.seed;
  if (!f.trace.empty()) opts.trace = std::make_shared<interp::RequestTrace>(f.trace);
  auto cancel = std::make_shared<interp::CancelToken>();
  opts.cancel = cancel;

  // Ctrl-C cancels the in-flight requests; the run ends with a "cancelled" error. Extern
  // commands run in process groups of their own, out of the terminal's reach: they get the
  // signal from here.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal_number = 0;
  signals.async_wait([cancel, &signal_number](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    signal_number = sig;
    cancel->cancel();
    signal_extern_commands(sig);
  });

  int code = 0;
  if (!f.batch.empty()) {
    if (f.resume && f.out.empty()) throw Error("--resume needs --out (the file to complete)");
    size_t skipped = 0;
    auto lines = read_batch(f.batch, stderr, &skipped);
    std::optional<BatchOutput> out;
    if (f.out.empty())
      out.emplace();
    else
      out.emplace(f.out, f.resume);
    size_t total = lines.size();
    std::erase_if(lines, [&](const BatchLine& b) { return out->done(b.line, b.input); });
    // Program output goes to stderr so stdout/--out holds only the JSONL records.
    opts.on_print = [](const std::string& s) { std::fputs(s.c_str(), stderr); };
    BatchConfig config;
    config.parallel = f.parallel;
    config.show_progress = !f.no_progress;
    config.progress_tty = isatty(2);
    // Ctrl-C / SIGTERM: no new line starts, running ones are cancelled and left for --resume.
    BatchStats st =
        run_batch(io, interp, lines, opts, *out, config, [&signals] { signals.cancel(); });
    if (st.interrupted) {
      const char* name = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
      std::fprintf(stderr,
                   "sgrun: interrupted by %s: %zu of %zu lines have results in %s; %zu not "
                   "finished%s\n",
                   name, total - st.unfinished, total, f.out.empty() ? "the output" : f.out.c_str(),
                   st.unfinished, f.out.empty() ? "" : " (rerun with --resume to complete them)");
      int code = 128 + (signal_number ? signal_number : SIGINT);
      // Lines still inside an extern command (one that ignored the signal) cannot be unwound;
      // every record is on disk. The commands must not outlive sgrun.
      if (st.abandoned) signal_extern_commands(SIGKILL), std::fflush(stderr), std::_Exit(code);
      pool.join();
      return code;
    }
    if (!f.quiet) {
      std::fprintf(stderr, "batch: %zu ok, %zu failed, %zu malformed lines skipped", st.ok,
                   st.failed, skipped);
      if (out->resumed()) std::fprintf(stderr, ", %zu done earlier", out->resumed());
      std::fprintf(stderr, ", %.2f s\n", st.seconds);
    }
    code = st.failed || skipped ? 1 : 0;
  } else {
    bool streamed = false;
    if (!f.no_stream)
      opts.on_text = [&streamed](const std::string& s) {
        streamed = true;
        std::fputs(s.c_str(), stderr);
        std::fflush(stderr);
      };
    interp::Value result;
    std::exception_ptr err;
    asio::co_spawn(io, interp.run_main(std::move(args), opts),
                   [&](std::exception_ptr e, interp::Value v) {
                     err = e;
                     result = std::move(v);
                     signals.cancel();
                   });
    io.run();
    if (streamed) std::fputc('\n', stderr);
    if (err) {
      try {
        std::rethrow_exception(err);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
      }
      code = 1;
    } else {
      std::cout << interp::to_json_text(result, isatty(1) ? 2 : -1) << std::endl;
    }
  }
  if (opts.trace) {
    auto s = client->stats();
    opts.trace->write({{"type", "engine_stats"},
                       {"steps", s.steps},
                       {"forward_tokens", s.forward_tokens},
                       {"prefill_tokens", s.prefill_tokens},
                       {"cached_tokens", s.cached_tokens},
                       {"decode_tokens", s.decode_tokens},
                       {"max_batch_seqs", s.max_batch_seqs},
                       {"preemptions", s.preemptions},
                       {"requests_done", s.requests_done}});
  }
  pool.join();
  return code;
}

}  // namespace

void register_run(CLI::App& app, ExitCode& exit) {
  auto* cmd =
      app.add_subcommand("run", "Run a program's main (once, or per line of a JSONL batch)");
  auto f = std::make_shared<RunFlags>();
  cmd->add_option("FILE", f->file, "the .sgp program")->required();
  cmd->add_option("ARGS", f->kv, "main's arguments as name=value (JSON values, else strings)");
  cmd->add_option("--args", f->args_file, "a JSON file holding an object of main's arguments");
  cmd->add_option("--batch", f->batch, "JSONL file: one object of arguments per line");
  cmd->add_option("--out", f->out, "where batch results go (JSONL; default stdout)");
  cmd->add_option("--parallel", f->parallel, "batch lines running at once (default 16)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--trace", f->trace, "write every engine request (id, timings) as JSON lines");
  cmd->add_option(
      "--extern", f->externs,
      "bind an extern to a command: name=CMD (JSON args on stdin, JSON result on stdout)");
  cmd->add_option("--extern-timeout", f->extern_timeout,
                  "seconds an extern command may run (default 30)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-steps", f->max_steps, "nodes a run may execute before it is stopped")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--resume", f->resume,
                "with --batch and --out: keep the records already in --out and run only the "
                "lines that have none (after Ctrl-C or a crash)");
  cmd->add_flag("--greedy", f->greedy, "temperature 0 for every gen (deterministic)");
  cmd->add_flag("--no-stream", f->no_stream, "don't echo generated text to stderr");
  cmd->add_flag("--no-progress", f->no_progress, "no batch progress on stderr");
  cmd->add_flag("--quiet", f->quiet, "no batch summary line");
  f->model.add_to(*cmd);
  f->model.add_remote_to(*cmd);
  cmd->footer(
      "The return value is printed as JSON on stdout; generated text streams to stderr as it is "
      "produced (--no-stream turns that off). With --batch, stdout (or --out) gets one JSON "
      "record per input line, in input order; progress and print() output go to stderr. "
      "Ctrl-C or SIGTERM during a batch stops it: every finished record is kept (exit status "
      "130 / 143), and --resume completes the rest.");
  cmd->callback([f, &exit] {
    signal(SIGPIPE, SIG_IGN);  // an extern command that exits early must not kill sgrun
    exit.value = run(*f);
  });
}

}  // namespace sgp::cli
