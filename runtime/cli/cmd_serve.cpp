// `sgrun serve`: the model behind an HTTP API (OpenAI-compatible, native and program runs).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "compiler/compile.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "sgp/error.h"

namespace sgp::cli {

namespace {

struct ServeFlags {
  server::ServerOptions options;
  std::vector<std::string> api_keys;
  std::string api_key_file, jwt_secret_file, jwt_public_key, max_body = "1M";
  std::vector<std::string> programs;
  bool no_auth = false, no_access_log = false;
  ModelFlags model;
};

std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw Error(std::string("cannot read ") + what + ": " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int serve(ServeFlags& f) {
  server::ServerOptions& o = f.options;
  o.access_log = !f.no_access_log;
  o.auth.enabled = !f.no_auth;
  o.auth.api_keys = f.api_keys;
  if (!f.api_key_file.empty()) {
    auto keys = server::read_key_file(f.api_key_file);
    o.auth.api_keys.insert(o.auth.api_keys.end(), keys.begin(), keys.end());
  }
  if (const char* env = std::getenv("SGP_API_KEY"); env && *env) o.auth.api_keys.push_back(env);
  if (!f.jwt_secret_file.empty()) {
    o.auth.jwt.hs256_secret = read_text(f.jwt_secret_file, "--jwt-secret-file");
    while (!o.auth.jwt.hs256_secret.empty() &&
           (o.auth.jwt.hs256_secret.back() == '\n' || o.auth.jwt.hs256_secret.back() == '\r'))
      o.auth.jwt.hs256_secret.pop_back();
    if (o.auth.jwt.hs256_secret.size() < 16)
      throw Error("--jwt-secret-file: the secret must be at least 16 bytes");
  }
  if (!f.jwt_public_key.empty())
    o.auth.jwt.rs256_pubkey = read_text(f.jwt_public_key, "--jwt-public-key");
  if (f.no_auth && (!o.auth.api_keys.empty() || !o.auth.jwt.hs256_secret.empty() ||
                    !o.auth.jwt.rs256_pubkey.empty()))
    throw Error("--no-auth contradicts the API keys / JWT keys given");
  o.limits.max_body_bytes = parse_bytes(f.max_body);
  if (o.limits.default_max_tokens > o.limits.max_tokens)
    o.limits.default_max_tokens = o.limits.max_tokens;
  for (const std::string& spec : f.programs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("--program takes NAME=FILE, got '" + spec + "'");
    o.programs[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  // Validate the auth settings before the (slow) model load.
  server::Authenticator check(o.auth);
  std::map<std::string, std::shared_ptr<const graph::Program>> programs;
  for (const auto& [name, file] : o.programs) {
    compiler::CompileOptions copts;
    copts.require_main = true;
    compiler::CompileResult cr = compiler::compile_file(file, copts);
    if (!cr.ok()) {
      std::fputs(cr.format_diagnostics().c_str(), stderr);
      throw Error("--program " + name + ": " + file + " does not compile");
    }
    programs[name] = std::make_shared<const graph::Program>(std::move(cr.program));
  }
  // The io_context outlives the engine: engine callbacks still in flight at exit post into it.
  boost::asio::io_context io(1);
  auto client = f.model.load();
  server::ServerState state(io, o, client);
  state.programs = std::move(programs);
  server::HttpServer http(state);
  http.listen();
  http.start();
  io.run();
  return 0;
}

}  // namespace

void register_serve(CLI::App& app, ExitCode& exit) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the model over HTTP (OpenAI-compatible API, native API, programs)");
  auto f = std::make_shared<ServeFlags>();
  server::ServerOptions& o = f->options;
  server::Limits& l = o.limits;
  cmd->add_option("--host", o.host, "address to bind (default 127.0.0.1)");
  cmd->add_option("--port", o.port, "port (default 8000; 0: any free port, logged at start)");
  cmd->add_option("--api-key", f->api_keys,
                  "accepted Bearer API key (repeatable; also $SGP_API_KEY)");
  cmd->add_option("--api-key-file", f->api_key_file, "file of accepted API keys, one per line");
  cmd->add_option("--jwt-secret-file", f->jwt_secret_file,
                  "accept HS256 JWTs signed with this secret");
  cmd->add_option("--jwt-public-key", f->jwt_public_key,
                  "accept RS256 JWTs verified by this PEM public key");
  cmd->add_option("--jwt-audience", o.auth.jwt.audience, "JWTs must carry this \"aud\" (else 403)");
  cmd->add_option("--jwt-issuer", o.auth.jwt.issuer, "JWTs must carry this \"iss\" (else 403)");
  cmd->add_flag("--no-auth", f->no_auth, "serve without authentication (loopback addresses only)");
  cmd->add_option("--model-name", o.model_name,
                  "model id reported by /v1/models (default: the file name)");
  cmd->add_option("--max-body", f->max_body, "largest request body, e.g. 1M (default 1M)");
  cmd->add_option("--max-tokens", l.max_tokens,
                  "largest max_tokens a request may ask for (default 4096)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--default-max-tokens", l.default_max_tokens,
                  "max_tokens when a request gives none (default 256)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-concurrent", l.max_concurrent,
                  "generation requests at once; more get 429 (default 256)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--max-connections", l.max_connections, "open connections (default 2048)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--request-timeout", l.request_timeout_s,
                  "seconds a generation may run (default 600; then 504)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--read-timeout", l.read_timeout_s,
                  "seconds a request may take to arrive (default 30; then 408)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--idle-timeout", l.idle_timeout_s,
                  "seconds an idle keep-alive connection stays open (default 60)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--drain-timeout", l.drain_timeout_s,
                  "on SIGTERM, seconds in-flight requests get (default 30)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--program", f->programs,
                  "register a program for /v1/programs/run: NAME=FILE (repeatable)");
  cmd->add_flag_function(
      "--no-program-source", [o = &o](int64_t) { o->allow_program_source = false; },
      "/v1/programs/run runs registered programs only");
  cmd->add_flag("--public-metrics", o.public_metrics, "/metrics without credentials");
  cmd->add_flag("--no-access-log", f->no_access_log, "no per-request JSON lines on stderr");
  f->model.add_to(*cmd);
  cmd->footer("See docs/server.md for the endpoints, auth and limits.");
  cmd->callback([f, &exit] {
    signal(SIGPIPE, SIG_IGN);  // a client that goes away mid-write must not kill the server
    exit.value = serve(*f);
  });
}

}  // namespace sgp::cli
