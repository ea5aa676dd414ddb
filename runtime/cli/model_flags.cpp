// ModelFlags: option registration and model loading for the CLI commands.
#include "cli/model_flags.h"

#include <cctype>

#include "remote/backend_list.h"
#include "sgp/error.h"

namespace sgp::cli {

void ModelFlags::add_to(CLI::App& app) {
  app.add_option("--model", model,
                 "model file (GGUF) or HF folder; default $SGP_MODEL or "
                 "models/SmolLM2-135M-Instruct.Q4_1.gguf");
  app.add_option("--backend", backends,
                 "cpu, an sgrun server http://HOST:PORT, or openai:http://HOST:PORT/v1; repeat it "
                 "(or give a comma list) to route programs over several backends")
      ->delimiter(',');
  app.add_option("--max-memory", max_memory, "KV cache budget, e.g. 512M or 2G");
  app.add_option("--gpu-memory-utilization", gpu_memory_utilization,
                 "cuda: the share of the GPU's memory the weights and KV cache may take "
                 "(default 0.9)")
      ->check(CLI::Range(0.05, 1.0));
  app.add_option("--random-weights", random_weights,
                 "cuda benchmarks: build the shape of this Hugging Face config.json (or folder) "
                 "with seeded random weights and a synthetic vocabulary instead of loading "
                 "--model");
  app.add_option("--threads", threads, "compute threads (0: every core)");
  app.add_option_function<uint64_t>(
      "--seed", [this](const uint64_t& s) { seed = s, seed_set = true; }, "default sampling seed");
  app.add_flag("--no-radix-cache", no_radix_cache,
               "prefill every request from scratch (benchmarks)");
}

void ModelFlags::add_remote_to(CLI::App& app) {
  app.add_option("--api-key", api_key,
                 "key for remote backends (default $SGP_API_KEY; openai: $OPENAI_API_KEY)");
  app.add_option("--remote-model", remote_model,
                 "openai backend: the model to request (default: the server's first)");
  app.add_option("--remote-timeout", remote_timeout,
                 "seconds a remote backend may stay silent before the request fails (default 300)")
      ->check(CLI::PositiveNumber);
}

size_t parse_bytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) throw Error("bad size '" + text + "' (e.g. 512M, 2G)");
  double v = std::stod(text.substr(0, i));
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  if (unit == "K" || unit == "KB" || unit == "KIB")
    mult = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    mult = 1024.0 * 1024 * 1024;
  else if (!unit.empty() && unit != "B")
    throw Error("bad size unit in '" + text + "'");
  double bytes = v * mult;
  if (bytes < 1 || bytes > 1e15) throw Error("size out of range: '" + text + "'");
  return static_cast<size_t>(bytes);
}

namespace {

std::shared_ptr<interp::LocalModelClient> load_local(const ModelFlags& f,
                                                     const std::string& device) {
  std::string path = f.model.empty() ? interp::default_model_path() : f.model;
  if (path.empty() && f.random_weights.empty())
    throw Error("no model: pass --model FILE, set SGP_MODEL, or run `make model`");
  if (!f.random_weights.empty() && !f.model.empty())
    throw Error("--random-weights and --model exclude each other");
  interp::LoadOptions o;
  o.backend = device;
  o.gpu_memory_utilization = f.gpu_memory_utilization;
  o.random_weights_config = f.random_weights;
  if (f.seed_set) o.random_weights_seed = f.seed;
  o.threads = f.threads;
  if (!f.max_memory.empty()) o.kv_memory_bytes = parse_bytes(f.max_memory);
  o.radix_cache = !f.no_radix_cache;
  o.seed = f.seed;
  return interp::load_local_model(path, o);
}

}  // namespace

std::shared_ptr<interp::ModelClient> ModelFlags::open() const {
  remote::BackendOptions o;
  o.http.api_key = api_key;
  o.http.read_timeout_s = remote_timeout;
  o.openai_model = remote_model;
  return remote::open_backends(
      remote::split_backends(backends), o,
      [this](const std::string& device) { return load_local(*this, device); });
}

std::shared_ptr<interp::LocalModelClient> ModelFlags::load() const {
  std::string device = "cpu";
  auto specs = remote::split_backends(backends);
  for (const std::string& s : specs)
    if (remote::is_remote_backend(s))
      throw Error("--backend " + s +
                  ": this command needs a local model (remote backends are for "
                  "`sgrun run` and `sgrun repl`)");
  if (specs.size() > 1) throw Error("--backend: this command runs one local engine");
  if (!specs.empty()) device = specs.front();
  return load_local(*this, device);
}

}  // namespace sgp::cli
