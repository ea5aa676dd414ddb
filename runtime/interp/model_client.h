// ModelClient: what the interpreter needs from a model (generate, score, tokenize), local or
// remote.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/request.h"

namespace sgp::interp {

// Callbacks (on_done, on_text) may run on any thread: the interpreter posts them back to its
// own executor. Implementations must call on_done exactly once per submitted request, also
// after cancel().
class ModelClient {
 public:
  virtual ~ModelClient() = default;

  virtual engine::RequestId generate(engine::GenerateRequest request) = 0;
  virtual engine::RequestId score(engine::ScoreRequest request) = 0;
  virtual void cancel(engine::RequestId id) = 0;

  // parse_special: special-token text (chat markers) maps to its id.
  virtual std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const = 0;
  // The tokens' exact bytes concatenated, as generated text is built (no SentencePiece
  // leading-space stripping), invalid UTF-8 as U+FFFD. Throws sgp::Error for a bad id.
  virtual std::string detokenize(const std::vector<int32_t>& tokens) const = 0;
  virtual int32_t bos_id() const = 0;  // -1: none
  virtual bool add_bos() const = 0;    // whether a state starts with bos_id()
  // The model's own chat template text (Jinja, as shipped in the model file); may be empty.
  virtual std::string chat_template() const = 0;
  virtual std::string name() const = 0;  // for `:model` and traces

  // The model tokenizer, when the client has one locally (constraints need it); else null.
  virtual std::shared_ptr<const model::Tokenizer> tokenizer() const { return nullptr; }
  // Engine counters when local (zeros otherwise).
  virtual engine::EngineStats stats() const { return {}; }
};

// The local engine: requests go straight to engine::Engine (which batches all programs).
class LocalModelClient : public ModelClient {
 public:
  LocalModelClient(std::shared_ptr<engine::Engine> engine,
                   std::shared_ptr<const model::Tokenizer> tokenizer, std::string name);

  engine::RequestId generate(engine::GenerateRequest request) override;
  engine::RequestId score(engine::ScoreRequest request) override;
  void cancel(engine::RequestId id) override;
  std::vector<int32_t> tokenize(std::string_view text, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& tokens) const override;
  int32_t bos_id() const override;
  bool add_bos() const override;
  std::string chat_template() const override;
  std::string name() const override { return name_; }
  std::shared_ptr<const model::Tokenizer> tokenizer() const override { return tokenizer_; }
  engine::EngineStats stats() const override { return engine_->stats(); }

  engine::Engine& engine() { return *engine_; }

 private:
  std::shared_ptr<engine::Engine> engine_;
  std::shared_ptr<const model::Tokenizer> tokenizer_;
  std::string name_;
};

struct LoadOptions {
  std::string backend = "cpu";  // "cpu" or "cuda"
  int threads = 0;              // 0: every core
  size_t kv_memory_bytes = 0;   // 0: the engine's default (cuda: from gpu_memory_utilization)
  double gpu_memory_utilization = 0.9;  // cuda: the share of free memory weights + KV may take
  // Benchmarks: instead of a model file, a Hugging Face config.json (or a folder holding one)
  // whose shape is built in place with seeded random weights and a synthetic vocabulary.
  std::string random_weights_config;
  uint64_t random_weights_seed = 1;
  bool radix_cache = true;
  uint64_t seed = 0;
};

// Opens a model file/folder (or, with options.random_weights_config, builds a random model and
// `path` is ignored) and starts an engine on it. Throws sgp::Error.
std::shared_ptr<LocalModelClient> load_local_model(const std::string& path,
                                                   const LoadOptions& options = {});

// The default model: $SGP_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf under the
// current directory or the source tree. Returns "" when none exists.
std::string default_model_path();

}  // namespace sgp::interp
