// ExternCommand: fork/exec with pipes, poll-driven I/O and a deadline.
#include "cli/extern_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "interp/asio.h"
#include "sgp/error.h"

namespace sgp::cli {

namespace {

constexpr size_t kMaxOutput = 64u << 20;

// Commands started and not yet reaped, each with whether a signal was passed on to it. A pid
// leaves the map before waitpid() reaps it, so a pid in the map can never have been reused by
// an unrelated process.
std::mutex g_running_mutex;
std::map<pid_t, bool> g_running;
// Set once sgrun has passed a signal on for good (it is stopping): from then on, whatever any
// command leaves behind in its group when it exits is killed (a shell's background jobs ignore
// SIGINT). An interrupt (the REPL's Ctrl-C) marks only the commands running at that moment.
std::atomic<bool> g_signalled{false};

struct CommandResult {
  std::string out, err;
  int status = 0;
  bool timed_out = false;
};

CommandResult run_command(const std::string& command, const std::string& input, double timeout_s) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) throw Error("pipe() failed");
  pid_t pid = fork();
  if (pid < 0) throw Error("fork() failed");
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      close(fd);
    setpgid(0, 0);  // its own group, so a timeout kills its children too
    // The REPL blocks SIGINT in its worker threads and sgrun ignores SIGPIPE; the command gets
    // the defaults back.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);  // also here: the group exists before anyone may signal it
  {
    std::lock_guard lock(g_running_mutex);
    g_running.emplace(pid, false);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]})
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  CommandResult r;
  size_t written = 0;
  int fds[3] = {in_pipe[1], out_pipe[0], err_pipe[0]};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  if (input.empty()) close(fds[0]), fds[0] = -1;
  while (fds[1] >= 0 || fds[2] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd p[3];
    int n = 0;
    for (int i = 0; i < 3; ++i)
      if (fds[i] >= 0) p[n++] = {fds[i], static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
    int rc = poll(p, n, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0 && errno != EINTR) break;
    for (int k = 0; k < n; ++k) {
      if (!p[k].revents) continue;
      int i = p[k].fd == fds[0] ? 0 : p[k].fd == fds[1] ? 1 : 2;
      if (i == 0) {
        ssize_t w = write(fds[0], input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();
        if (written >= input.size()) close(fds[0]), fds[0] = -1;
      } else {
        char buf[65536];
        ssize_t got = read(fds[i], buf, sizeof buf);
        if (got > 0) {
          std::string& dst = i == 1 ? r.out : r.err;
          if (dst.size() < kMaxOutput) dst.append(buf, static_cast<size_t>(got));
        } else if (got == 0 || errno != EAGAIN) {
          close(fds[i]);
          fds[i] = -1;
        }
      }
    }
  }
  for (int fd : fds)
    if (fd >= 0) close(fd);
  // Its output is closed, but the command may still run (it closed stdout itself): the time
  // limit holds until it exits. WNOWAIT leaves it unreaped, so its pid stays ours to signal.
  while (!r.timed_out) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
        errno != EINTR)
      break;
    if (info.si_pid == pid) break;
    if (std::chrono::steady_clock::now() >= deadline)
      r.timed_out = true;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The leader is not reaped yet, so its group id cannot have been reused.
  {
    std::lock_guard lock(g_running_mutex);
    auto it = g_running.find(pid);
    if (r.timed_out || g_signalled || it->second) kill(-pid, SIGKILL), kill(pid, SIGKILL);
    g_running.erase(it);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = status;
  return r;
}

}  // namespace

std::pair<std::string, std::string> parse_extern_binding(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw Error("--extern expects name=COMMAND, got '" + spec + "'");
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

int interrupt_extern_commands(int sig) {
  std::lock_guard lock(g_running_mutex);
  for (auto& [pid, signalled] : g_running) {
    signalled = true;
    kill(-pid, sig);
  }
  return static_cast<int>(g_running.size());
}

int signal_extern_commands(int sig) {
  g_signalled = true;
  return interrupt_extern_commands(sig);
}

interp::HostFunction make_extern_command(std::string command, double timeout_s,
                                         boost::asio::thread_pool& pool) {
  return [command, timeout_s, &pool](interp::List args, interp::HostDone done) {
    std::string input = interp::to_json_text(interp::Value(std::move(args))) + "\n";
    boost::asio::post(pool, [command, timeout_s, input, done] {
      interp::HostResult res;
      try {
        CommandResult r = run_command(command, input, timeout_s);
        if (r.timed_out) {
          char limit[32];
          std::snprintf(limit, sizeof limit, "%g", timeout_s);
          res.error = "command '" + command + "' timed out after " + limit + " s (killed)";
        } else if (WIFSIGNALED(r.status)) {
          res.error = "command '" + command + "' was killed by signal " +
                      std::to_string(WTERMSIG(r.status)) + " (" + strsignal(WTERMSIG(r.status)) +
                      ")";
          if (!r.err.empty()) res.error += ": " + r.err.substr(0, 2000);
        } else if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
          res.error = "command '" + command + "' failed (exit status " +
                      std::to_string(WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1) + ")";
          if (!r.err.empty()) res.error += ": " + r.err.substr(0, 2000);
        } else {
          auto j = nlohmann::ordered_json::parse(r.out, nullptr, false);
          if (j.is_discarded())
            res.error = "command '" + command + "' did not print JSON: " + r.out.substr(0, 200);
          else
            res.value = interp::from_json(j);
        }
      } catch (const std::exception& e) {
        res.error = e.what();
      }
      done(std::move(res));
    });
  };
}

}  // namespace sgp::cli
