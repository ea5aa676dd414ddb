// Tokenizer: byte-level BPE (GPT-2 / Llama-3 / SmolLM / Qwen2) and SentencePiece-style BPE.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sgp::model {

class GgufFile;

class Tokenizer {
 public:
  // From GGUF metadata (tokenizer.ggml.*) or a Hugging Face tokenizer.json (+ optional
  // tokenizer_config.json beside it). Throw sgp::Error on anything malformed or unsupported.
  static std::shared_ptr<Tokenizer> from_gguf(const GgufFile& file);
  static std::shared_ptr<Tokenizer> from_hf_folder(const std::string& folder);
  virtual ~Tokenizer() = default;

  // Special-token text (e.g. "<|im_start|>") maps to its id when parse_special is true.
  virtual std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The exact bytes a token contributes to the output (for constraints and stop strings).
  virtual const std::string& token_bytes(int32_t id) const = 0;
  virtual int n_vocab() const = 0;
  virtual bool is_special(int32_t id) const = 0;

  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  // Every id that ends generation (eos, eot, <|im_end|> ...).
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  bool add_bos() const { return add_bos_; }
  // The model's Jinja chat template text, if the file carries one (may be empty).
  const std::string& chat_template() const { return chat_template_; }

 protected:
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  std::vector<int32_t> stop_ids_;
  bool add_bos_ = false;
  std::string chat_template_;
};

// Turns a stream of token ids into text, emitting only complete UTF-8 sequences.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);  // text that became complete with this token
  std::string flush();           // whatever is left (invalid bytes become U+FFFD)

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  std::string pending_;
  size_t emitted_ = 0;
};

}  // namespace sgp::model
