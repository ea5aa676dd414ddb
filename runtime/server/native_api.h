// The native sgp API (docs/server.md): /generate, /score, /tokenize, /detokenize, /model_info,
// plus /health and /metrics.
#pragma once

#include "server/router.h"
#include "server/sampling_json.h"

namespace sgp::server {

void add_native_routes(Router& router, bool public_metrics);

// The native /generate sampling_params object (OpenAI-named options plus logprobs: int and
// one of regex / json_schema / choices). Throws ApiError.
engine::SamplingParams parse_native_sampling(const Json& sp, const Limits& limits, int vocab,
                                             ConstraintSpec& constraint);

}  // namespace sgp::server
