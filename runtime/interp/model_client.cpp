// LocalModelClient and model loading: the engine behind the ModelClient interface.
#include "interp/model_client.h"

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "model/backend.h"
#ifdef SGP_WITH_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif
#include "model/gguf_file.h"
#include "sgp/error.h"
#include "tokenizer/synthetic_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace sgp::interp {

LocalModelClient::LocalModelClient(std::shared_ptr<engine::Engine> engine,
                                   std::shared_ptr<const model::Tokenizer> tokenizer,
                                   std::string name)
    : engine_(std::move(engine)), tokenizer_(std::move(tokenizer)), name_(std::move(name)) {}

engine::RequestId LocalModelClient::generate(engine::GenerateRequest request) {
  return engine_->submit(std::move(request));
}

engine::RequestId LocalModelClient::score(engine::ScoreRequest request) {
  return engine_->submit(std::move(request));
}

void LocalModelClient::cancel(engine::RequestId id) {
  engine_->cancel(id);
}

std::vector<int32_t> LocalModelClient::tokenize(std::string_view text, bool parse_special) const {
  return tokenizer_->encode(text, parse_special);
}

std::string LocalModelClient::detokenize(const std::vector<int32_t>& tokens) const {
  // As the engine builds generated text: each token's exact bytes, so detokenizing a state in
  // pieces concatenates (decode() would drop a SentencePiece leading space from every piece).
  model::IncrementalDecoder dec(*tokenizer_);
  std::string out;
  for (int32_t id : tokens) out += dec.push(id);
  return out + dec.flush();
}

int32_t LocalModelClient::bos_id() const {
  return tokenizer_->bos_id();
}
bool LocalModelClient::add_bos() const {
  return tokenizer_->add_bos();
}
std::string LocalModelClient::chat_template() const {
  return tokenizer_->chat_template();
}

std::shared_ptr<LocalModelClient> load_local_model(const std::string& path,
                                                   const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (options.gpu_memory_utilization <= 0.0 || options.gpu_memory_utilization > 1.0)
    throw Error("--gpu-memory-utilization must be in (0, 1], got " +
                std::to_string(options.gpu_memory_utilization));
  const bool random = !options.random_weights_config.empty();
  std::optional<model::ModelConfig> random_config;
  if (random) {
    random_config = model::read_hf_config(options.random_weights_config);
    if (options.backend != "cuda")
      throw Error("--random-weights builds the model on the GPU: use it with --backend cuda");
  }
#ifdef SGP_WITH_CUDA
  const char* available = "cpu, cuda";
#else
  const char* available = "cpu (this build has no CUDA)";
#endif
  if (options.backend != "cpu" && options.backend != "cuda")
    throw Error("backend '" + options.backend + "' is not available (available: " + available +
                ")");
#ifndef SGP_WITH_CUDA
  if (options.backend == "cuda")
    throw Error("backend 'cuda' is not available: sgrun was built without nvcc (available: " +
                std::string(available) + ")");
#endif
  std::error_code ec;
  if (!random && !fs::exists(path, ec)) throw Error("model not found: " + path);
  std::shared_ptr<model::Tokenizer> tok;
  if (random) {
    tok = std::make_shared<model::SyntheticTokenizer>(random_config->n_vocab);
  } else if (fs::is_directory(path, ec)) {
    tok = model::Tokenizer::from_hf_folder(path);
  } else {
    auto file = model::GgufFile::open(path);
    tok = model::Tokenizer::from_gguf(*file);
  }
  std::unique_ptr<model::Backend> backend;
  engine::EngineOptions eo;
  if (options.backend == "cpu") {
    model::CpuOptions cpu;
    cpu.threads = options.threads;
    backend = model::load_cpu_backend(path, cpu);
  } else {
#ifdef SGP_WITH_CUDA
    if (!model::cuda_device_available()) throw Error("backend 'cuda': no CUDA device is visible");
    backend = random ? model::make_random_cuda_backend(*random_config, options.random_weights_seed)
                     : model::load_cuda_backend(path);
    eo.max_running = 256;
    eo.max_step_tokens = 8192;
    // The KV pool takes what the weights left, less room for activations and logits.
    eo.kv_memory_bytes = model::cuda_kv_budget(options.gpu_memory_utilization, eo.max_step_tokens,
                                               eo.max_running, backend->config());
#endif
  }
  if (options.kv_memory_bytes) eo.kv_memory_bytes = options.kv_memory_bytes;
  eo.radix_cache = options.radix_cache;
  eo.default_seed = options.seed;
  auto eng = std::make_shared<engine::Engine>(std::move(backend), tok, eo);
  std::string name = random
                         ? "random:" + fs::path(options.random_weights_config).filename().string()
                         : fs::path(path).filename().string();
  return std::make_shared<LocalModelClient>(std::move(eng), tok, std::move(name));
}

std::string default_model_path() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SGP_MODEL"); env && *env) return env;
  const std::string rel = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  std::error_code ec;
  for (fs::path dir = fs::current_path(ec); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / rel, ec)) return (dir / rel).string();
    if (dir == dir.parent_path()) break;
  }
#ifdef SGP_SOURCE_TREE
  if (fs::exists(fs::path(SGP_SOURCE_TREE) / rel, ec))
    return (fs::path(SGP_SOURCE_TREE) / rel).string();
#endif
  return "";
}

}  // namespace sgp::interp
