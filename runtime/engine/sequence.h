// Sequence: the engine's state for one token stream — a generate request, a score request's
// shared prefix, or one of its continuations — with its KV and progress.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/request.h"
#include "engine/sampler.h"
#include "engine/stop_matcher.h"
#include "kv/radix_cache.h"
#include "tokenizer/tokenizer.h"

namespace sgp::engine {

enum class SeqKind { Generate, ScorePrefix, ScoreChoice };

// What a generate request carries beyond its tokens.
struct GenerateState {
  GenerateState(GenerateRequest req, uint64_t seed, const model::Tokenizer& tok);
  GenerateRequest request;
  Sampler sampler;
  StopMatcher stops;
  model::IncrementalDecoder decoder;
  int32_t constraint_state = 0;
  std::vector<size_t> token_text_start;  // text offset at which each output token began
  std::vector<TokenLogprob> logprobs;
};

// A score request: its prefix runs once, then one sequence per continuation forks from it.
struct ScoreJob {
  ScoreRequest request;
  ScoreResult result;
  int pending = 0;  // continuations (or the prefix) not finished yet
  bool done = false;
};

struct Sequence {
  RequestId id = 0;
  SeqKind kind = SeqKind::Generate;
  uint64_t arrival = 0;  // submission order, the tie-breaker of every ordering
  std::vector<int32_t> tokens;
  int prompt_len = 0;
  int n_computed = 0;     // positions [0, n_computed) have KV in kv.pages
  bool decoding = false;  // the one pending token was sampled last step
  bool admitted_once = false;
  bool prompt_cached = false;  // its prompt went into the radix cache
  int cached_at_admit = 0;     // prompt tokens the cache served at first admission
  kv::SeqKv kv;

  std::unique_ptr<GenerateState> gen;  // Generate
  std::shared_ptr<ScoreJob> job;       // ScorePrefix, ScoreChoice
  int choice = -1;                     // ScoreChoice: its continuation
  int logits_from = 0;                 // ScoreChoice: first position whose logits are scored
  // Overlapped steps: for each token drawn on the device by a step not collected yet, its row
  // in that step, oldest first. Those tokens stand as placeholders (-1) at the end of `tokens`;
  // the scheduler plans them like any token, the backend reads them on the device
  // (model::SeqChunk::input_from_prev_row), nothing on the host may read them.
  std::vector<int32_t> future_rows;
  bool finished = false;  // Generate: ended (its result is out)

  int pending() const { return static_cast<int>(tokens.size()) - n_computed; }
  // Tokens known on the host (all but the placeholders).
  int known() const { return static_cast<int>(tokens.size() - future_rows.size()); }
  // How much of the sequence the cache may serve: positions whose logits are needed must run.
  int max_cached() const {
    switch (kind) {
      case SeqKind::Generate:
        return static_cast<int>(tokens.size()) - 1;
      case SeqKind::ScorePrefix:
        return static_cast<int>(tokens.size());
      case SeqKind::ScoreChoice:
        return logits_from;
    }
    return 0;
  }
  int output_len() const { return static_cast<int>(tokens.size()) - prompt_len; }
};

}  // namespace sgp::engine
