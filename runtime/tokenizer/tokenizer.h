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
  // Never adds BOS: callers prepend bos_id() themselves when add_bos() says so.
  // Thread-safe (const; the word cache is internally locked).
  virtual std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const = 0;
  // Concatenated token_bytes (special tokens as their text); SentencePiece tokenizers drop the
  // dummy-prefix space at the very start, as HF does. Throws sgp::Error for an id out of range.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The exact bytes a token contributes to the output (for constraints and stop strings).
  // Throws sgp::Error for an id out of range.
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
  // True when decoding drops one leading space of the output (SentencePiece dummy prefix).
  bool decode_strips_leading_space() const { return strip_leading_space_; }

 protected:
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  std::vector<int32_t> stop_ids_;
  bool add_bos_ = false;
  std::string chat_template_;
  bool strip_leading_space_ = false;
};

// Turns a stream of token ids into text, emitting only complete UTF-8 sequences.
// By default the stream continues earlier text (generated tokens after a prompt), so it emits
// exactly the token_bytes of each token. With text_start, the stream begins a text, and the
// SentencePiece dummy-prefix space is dropped as decode() drops it.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tok, bool text_start = false)
      : tok_(tok), at_start_(text_start) {}
  // Text that became complete with this token. Bytes that can never form valid UTF-8 come out
  // as U+FFFD; an unfinished multi-byte sequence waits for the next token.
  std::string push(int32_t id);
  std::string flush();  // whatever is left (an unfinished sequence becomes U+FFFD)

 private:
  const Tokenizer& tok_;
  std::string pending_;
  bool at_start_;
};

}  // namespace sgp::model
