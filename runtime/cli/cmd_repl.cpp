// `sgrun repl [FILE]`: interactive prompting; definitions, variables and the state's KV persist.
#include <pthread.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/extern_command.h"
#include "cli/input_balance.h"
#include "cli/model_flags.h"
#include "compiler/compile.h"
#include "interp/interpreter.h"
#include "sgp/error.h"

namespace sgp::cli {

namespace asio = boost::asio;

namespace {

// Set by the SIGINT handler (nothing else is async-signal-safe); read by the main thread only:
// SIGINT is blocked in every other thread, so it always interrupts the main thread's read().
std::atomic<bool> g_interrupt{false};
bool g_line_interrupted = false;  // the line readline just returned was cut by Ctrl-C

void on_sigint(int) {
  g_interrupt = true;
}

// readline's key reader. Ctrl-C at the prompt interrupts read() (no SA_RESTART); the line is
// then accepted as typed and marked, so the loop drops it (and any unfinished multi-line entry)
// and prompts again. All of this runs in normal context, never inside the signal handler.
int read_key(FILE* in) {
  while (true) {
    // A Ctrl-C that arrived while no read() was waiting (between entries, or while the
    // terminal was still in cooked mode, which also discards the keys typed before it) counts
    // here, before blocking; otherwise the REPL would wait for a key with the line gone.
    if (g_interrupt.exchange(false)) {
      g_line_interrupted = true;
      std::fputs("^C", rl_outstream);
      return '\n';
    }
    unsigned char c;
    ssize_t n = read(fileno(in), &c, 1);
    if (n == 1) return c;
    if (n == 0) return EOF;
    if (errno != EINTR) return RL_ISSTATE(RL_STATE_READCMD) ? READERR : EOF;
    rl_check_signals();  // SIGWINCH: readline resizes
  }
}

const char* kHelp =
    "Enter .sgp code: definitions (fn, const, import, use template, extern) persist; statements\n"
    "run at once on the session state (string expressions append to it, gen/select extend it).\n"
    "Unclosed brackets or strings continue on the next line.\n"
    "  :state        show the session state (text and token count)\n"
    "  :reset        start a fresh state (definitions and variables stay)\n"
    "  :model        the model and the engine's counters\n"
    "  :load FILE    add a file's definitions (and run its statements)\n"
    "  :help         this text\n"
    "  :quit         leave (also Ctrl-D)\n"
    "Ctrl-C cancels a running gen and returns to the prompt.\n";

class Repl {
 public:
  Repl(const ModelFlags& flags, const std::vector<std::string>& externs, double extern_timeout)
      : client_(flags.open()), work_(asio::make_work_guard(io_)), pool_(2) {
    for (const std::string& spec : externs) {
      auto [name, command] = parse_extern_binding(spec);
      hosts_[name] = make_extern_command(command, extern_timeout, pool_);
    }
    io_thread_ = std::thread([this] { io_.run(); });
  }

  ~Repl() {
    work_.reset();
    io_.stop();
    io_thread_.join();
    pool_.join();
  }

  // Runs one complete entry; returns false to quit.
  bool handle(const std::string& entry) {
    std::string t = entry;
    size_t b = t.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return true;
    t = t.substr(b);
    if (t[0] == ':') return command(t);
    add(entry);
    return true;
  }

 private:
  bool command(const std::string& t) {
    std::istringstream in(t);
    std::string cmd, arg;
    in >> cmd;
    std::getline(in >> std::ws, arg);
    while (!arg.empty() && std::isspace(static_cast<unsigned char>(arg.back()))) arg.pop_back();
    if (cmd == ":quit" || cmd == ":q" || cmd == ":exit") return false;
    if (cmd == ":help") {
      std::fputs(kHelp, stdout);
    } else if (cmd == ":reset") {
      state_.reset();
      std::puts("state reset");
    } else if (cmd == ":state") {
      if (!state_) {
        std::puts("(empty state)");
      } else {
        std::printf("%s\n-- %zu tokens, %zu in the KV cache\n", state_->text.c_str(),
                    state_->tokens.size(), std::min(state_->cached, state_->tokens.size()));
      }
    } else if (cmd == ":model") {
      auto s = client_->stats();
      std::printf(
          "model: %s\nengine: %llu steps, %llu prefill tokens, %llu cached tokens, %llu decode "
          "tokens\n",
          client_->name().c_str(), (unsigned long long)s.steps,
          (unsigned long long)s.prefill_tokens, (unsigned long long)s.cached_tokens,
          (unsigned long long)s.decode_tokens);
    } else if (cmd == ":load") {
      std::ifstream f(arg);
      if (arg.empty() || !f) {
        std::printf("cannot read '%s'\n", arg.c_str());
      } else {
        std::stringstream ss;
        ss << f.rdbuf();
        add(ss.str());
      }
    } else {
      std::printf("unknown command %s (:help lists them)\n", cmd.c_str());
    }
    std::fflush(stdout);
    return true;
  }

  void add(const std::string& text) {
    g_interrupt = false;  // a Ctrl-C from now on cancels this entry
    compiler::Session::Snippet sn = session_.add(text);
    if (!sn.ok) {
      std::fputs(sn.diagnostics.c_str(), stdout);
      std::fflush(stdout);
      return;
    }
    if (sn.function < 0) return;
    auto program = std::make_shared<const graph::Program>(session_.program());
    globals_.resize(program->globals.size());
    auto interp =
        std::make_shared<interp::Interpreter>(io_.get_executor(), client_, program, hosts_);
    if (!state_) state_ = interp->fresh_state();
    auto cancel = std::make_shared<interp::CancelToken>();
    interp::RunOptions opts;
    opts.cancel = cancel;
    bool streamed = false;
    opts.on_text = [&streamed](const std::string& s) {
      streamed = true;
      std::fputs(s.c_str(), stdout);
      std::fflush(stdout);
    };
    std::promise<std::pair<interp::Value, std::string>> done;
    auto fut = done.get_future();
    // The run happens on the io thread; this thread only waits (and turns Ctrl-C into cancel).
    asio::co_spawn(io_, interp->run_function(sn.function, {}, *state_, &globals_, opts),
                   [&done](std::exception_ptr e, interp::Value v) {
                     std::string err;
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         err = x.what();
                       }
                     }
                     done.set_value({std::move(v), std::move(err)});
                   });
    // Extern commands run in process groups of their own, out of the terminal's reach: Ctrl-C
    // is passed on to them, so a call blocked in one ends now, not at --extern-timeout.
    while (fut.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (g_interrupt.exchange(false)) {
        cancel->cancel();
        interrupt_extern_commands(SIGINT);
      }
    }
    auto [value, err] = fut.get();
    if (streamed) std::fputc('\n', stdout);
    if (!err.empty())
      std::printf("%s\n", err.c_str());
    else if (!value.is_null())
      std::printf("%s\n", interp::to_json_text(value).c_str());
    std::fflush(stdout);
  }

  asio::io_context io_;
  std::shared_ptr<interp::ModelClient> client_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::thread_pool pool_;
  interp::HostFunctions hosts_;
  std::thread io_thread_;
  compiler::Session session_;
  std::vector<interp::Value> globals_;
  std::optional<interp::PromptState> state_;
};

std::string history_path() {
  if (const char* p = std::getenv("SGP_HISTORY"); p && *p) return p;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.sgp_history";
  return "";
}

int repl_main(const ModelFlags& flags, const std::string& file,
              const std::vector<std::string>& externs, double extern_timeout) {
  // Every thread the REPL starts (engine, io, extern pool) inherits SIGINT blocked, so Ctrl-C
  // always lands on this thread and interrupts readline's read().
  sigset_t sigint, old_mask;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigint, &old_mask);
  std::unique_ptr<Repl> repl;
  try {
    repl = std::make_unique<Repl>(flags, externs, extern_timeout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;  // no SA_RESTART: read() returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  rl_catch_signals = 0;
  rl_getc_function = read_key;
  std::string hist = history_path();
  // append_history() only appends to an existing file, so a first session creates it.
  if (!hist.empty() && read_history(hist.c_str()) != 0) write_history(hist.c_str());
  std::printf("sgrun repl — :help for commands, Ctrl-D to leave\n");
  if (!file.empty()) repl->handle(":load " + file);
  std::string entry;
  while (true) {
    g_line_interrupted = false;
    char* line = readline(entry.empty() ? "sgp> " : "...> ");
    if (!line) break;
    if (g_line_interrupted) {
      std::free(line);
      entry.clear();
      continue;
    }
    entry += line;
    entry += "\n";
    std::free(line);
    if (!input_complete(entry)) continue;
    std::string e = entry;
    entry.clear();
    if (e.find_first_not_of(" \t\r\n") != std::string::npos) {
      std::string h = e.substr(0, e.find_last_not_of(" \t\r\n") + 1);
      add_history(h.c_str());
      if (!hist.empty()) append_history(1, hist.c_str());
    }
    if (!repl->handle(e)) break;
  }
  std::printf("\n");
  return 0;
}

}  // namespace

void register_repl(CLI::App& app, ExitCode& exit) {
  auto* cmd =
      app.add_subcommand("repl", "Interactive session: definitions and the state's KV persist");
  struct Flags {
    std::string file;
    std::vector<std::string> externs;
    double extern_timeout = 30;
    ModelFlags model;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("FILE", f->file, "a .sgp file to load first");
  cmd->add_option("--extern", f->externs, "bind an extern to a command: name=CMD");
  cmd->add_option("--extern-timeout", f->extern_timeout, "seconds an extern command may run");
  f->model.add_to(*cmd);
  f->model.add_remote_to(*cmd);
  cmd->footer("History is kept in $SGP_HISTORY or ~/.sgp_history. :help lists the commands.");
  cmd->callback(
      [f, &exit] { exit.value = repl_main(f->model, f->file, f->externs, f->extern_timeout); });
}

}  // namespace sgp::cli
