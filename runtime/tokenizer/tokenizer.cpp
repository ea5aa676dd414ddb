// build_tokenizer: validates a loader's TokenizerSpec and picks the BPE flavour.
#include <algorithm>

#include "sgp/error.h"
#include "tokenizer/byte_level_bpe.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer_spec.h"

namespace sgp::model {

namespace {

// Texts that end a turn in the chat formats we load; they stop generation like EOS does.
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|im_end|>", "<|eot_id|>",    "<|eom_id|>", "<|endoftext|>", "<|end_of_text|>",
    "<|end|>",    "<end_of_turn>", "</s>",       "<|return|>"};

void check_id(const TokenizerSpec& spec, int32_t id, const char* what) {
  if (id < -1 || id >= static_cast<int64_t>(spec.vocab.size()))
    throw Error(std::string("tokenizer ") + what + " id " + std::to_string(id) +
                " is outside the vocabulary (size " + std::to_string(spec.vocab.size()) + ")");
}

}  // namespace

std::shared_ptr<Tokenizer> build_tokenizer(TokenizerSpec spec) {
  if (spec.vocab.empty()) throw Error("tokenizer has an empty vocabulary");
  if (spec.types.empty()) spec.types.assign(spec.vocab.size(), TokenType::Normal);
  if (spec.types.size() != spec.vocab.size())
    throw Error("tokenizer has " + std::to_string(spec.types.size()) + " token types for " +
                std::to_string(spec.vocab.size()) + " tokens");
  if (!spec.scores.empty() && spec.scores.size() != spec.vocab.size())
    throw Error("tokenizer has " + std::to_string(spec.scores.size()) + " scores for " +
                std::to_string(spec.vocab.size()) + " tokens");
  check_id(spec, spec.bos_id, "BOS");
  check_id(spec, spec.eos_id, "EOS");
  check_id(spec, spec.unk_id, "unknown-token");
  for (const AddedToken& t : spec.added) check_id(spec, t.id, "added token");
  if (spec.add_bos && spec.bos_id < 0) throw Error("tokenizer asks for a BOS token but has none");

  // Stop ids: EOS, the given ones, and every special token whose text ends a turn.
  std::vector<int32_t> stops;
  if (spec.eos_id >= 0) stops.push_back(spec.eos_id);
  for (int32_t id : spec.stop_ids) {
    check_id(spec, id, "stop");
    if (id >= 0) stops.push_back(id);
  }
  for (size_t i = 0; i < spec.vocab.size(); ++i) {
    if (spec.types[i] != TokenType::Control) continue;
    for (std::string_view t : kEndOfTurnTexts)
      if (spec.vocab[i] == t) stops.push_back(static_cast<int32_t>(i));
  }
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  spec.stop_ids = std::move(stops);

  if (spec.kind == TokenizerKind::ByteLevelBpe) return std::make_shared<ByteLevelBpe>(spec);
  return std::make_shared<SentencePieceBpe>(spec);
}

}  // namespace sgp::model
