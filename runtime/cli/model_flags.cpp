// ModelFlags: option registration and model loading for the CLI commands.
#include "cli/model_flags.h"

#include <cctype>

#include "sgp/error.h"

namespace sgp::cli {

void ModelFlags::add_to(CLI::App& app) {
  app.add_option("--model", model,
                 "model file (GGUF) or HF folder; default $SGP_MODEL or "
                 "models/SmolLM2-135M-Instruct.Q4_1.gguf");
  app.add_option("--backend", backend, "cpu");
  app.add_option("--max-memory", max_memory, "KV cache budget, e.g. 512M or 2G");
  app.add_option("--threads", threads, "compute threads (0: every core)");
  app.add_option_function<uint64_t>(
      "--seed", [this](const uint64_t& s) { seed = s, seed_set = true; }, "default sampling seed");
  app.add_flag("--no-radix-cache", no_radix_cache,
               "prefill every request from scratch (benchmarks)");
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

std::shared_ptr<interp::LocalModelClient> ModelFlags::load() const {
  std::string path = model.empty() ? interp::default_model_path() : model;
  if (path.empty()) throw Error("no model: pass --model FILE, set SGP_MODEL, or run `make model`");
  interp::LoadOptions o;
  o.backend = backend;
  o.threads = threads;
  if (!max_memory.empty()) o.kv_memory_bytes = parse_bytes(max_memory);
  o.radix_cache = !no_radix_cache;
  o.seed = seed;
  return interp::load_local_model(path, o);
}

}  // namespace sgp::cli
