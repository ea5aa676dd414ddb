// ModelFlags: the model options `sgrun run` and `sgrun repl` share (--model, --threads, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "interp/model_client.h"

namespace sgp::cli {

struct ModelFlags {
  std::string model;  // "" = default_model_path()
  std::string backend = "cpu";
  std::string max_memory;  // KV budget: bytes, or with K/M/G suffix
  int threads = 0;
  uint64_t seed = 0;
  bool seed_set = false;
  bool no_radix_cache = false;

  void add_to(CLI::App& app);
  // Loads the model; throws sgp::Error with a clear message.
  std::shared_ptr<interp::LocalModelClient> load() const;
};

// "512M" / "2G" / "1048576" → bytes; throws sgp::Error.
size_t parse_bytes(const std::string& text);

}  // namespace sgp::cli
