// ExternCommand: binds an `extern fn` to a shell command (JSON args on stdin, JSON result on
// stdout).
#pragma once

#include <memory>
#include <string>

#include "interp/asio.h"
#include "interp/host_function.h"

namespace sgp::cli {

// "name=CMD" → (name, CMD); throws sgp::Error when malformed.
std::pair<std::string, std::string> parse_extern_binding(const std::string& spec);

// Runs `command` through /bin/sh with the call's arguments as a JSON array on stdin; its
// stdout must be one JSON value. A non-zero exit, bad JSON or running past `timeout_s` (the
// process is killed) is the call's error. The command runs on `pool`, never on the
// interpreter's thread.
interp::HostFunction make_extern_command(std::string command, double timeout_s,
                                         boost::asio::thread_pool& pool);

// Sends `sig` to the process group of every extern command still running (each runs in a
// group of its own, so a terminal's Ctrl-C never reaches it; sgrun forwards its signals, and
// SIGKILLs what is left before it gives up on them). Returns how many groups it signalled.
int signal_extern_commands(int sig);

// The same for the commands running now only, when sgrun goes on afterwards (the REPL's
// Ctrl-C): what each of them leaves behind in its group is killed when it exits, and commands
// started later run as usual.
int interrupt_extern_commands(int sig);

}  // namespace sgp::cli
