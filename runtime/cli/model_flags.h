// ModelFlags: the model options `sgrun run` and `sgrun repl` share (--model, --threads, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "interp/model_client.h"

namespace sgp::cli {

struct ModelFlags {
  std::string model;  // "" = default_model_path()
  // --backend, repeatable or comma-separated: a local device (cpu), an sgrun server
  // (http://HOST:PORT) or an OpenAI-compatible one (openai:http://HOST:PORT/v1). Empty: cpu.
  std::vector<std::string> backends;
  std::string api_key;          // remote backends; "" = $SGP_API_KEY (openai: $OPENAI_API_KEY)
  std::string remote_model;     // openai: the model name to request
  double remote_timeout = 300;  // seconds a remote backend may stay silent
  std::string max_memory;       // KV budget: bytes, or with K/M/G suffix
  double gpu_memory_utilization = 0.9;  // cuda: share of the device's memory weights + KV take
  std::string random_weights;           // cuda benchmarks: a config.json built with random weights
  int threads = 0;
  uint64_t seed = 0;
  bool seed_set = false;
  bool no_radix_cache = false;

  void add_to(CLI::App& app);
  // --api-key, --remote-model, --remote-timeout: for commands that accept remote backends.
  void add_remote_to(CLI::App& app);
  // Loads the model locally; throws sgp::Error with a clear message (also when --backend names
  // a remote server: this command needs the engine itself).
  std::shared_ptr<interp::LocalModelClient> load() const;
  // The model client for running programs: the local engine, a remote server, or a router over
  // several backends. Throws sgp::Error.
  std::shared_ptr<interp::ModelClient> open() const;
};

// "512M" / "2G" / "1048576" → bytes; throws sgp::Error.
size_t parse_bytes(const std::string& text);

}  // namespace sgp::cli
