// Sampling options and constraints from JSON.
#include "server/sampling_json.h"

#include <algorithm>

#include "constraint/constraint_factory.h"
#include "server/api_error.h"
#include "sgp/error.h"

namespace sgp::server {

engine::SamplingParams parse_sampling(const Json& obj, const Limits& limits, int vocab) {
  engine::SamplingParams sp;
  std::optional<int64_t> max_tokens = get_int(obj, "max_tokens", 0, INT32_MAX);
  if (!max_tokens) max_tokens = get_int(obj, "max_completion_tokens", 0, INT32_MAX);
  if (max_tokens && *max_tokens > limits.max_tokens)
    throw bad_param("max_tokens", "max_tokens " + std::to_string(*max_tokens) +
                                      " exceeds this server's limit of " +
                                      std::to_string(limits.max_tokens));
  sp.max_tokens = max_tokens ? static_cast<int>(*max_tokens)
                             : std::min(limits.default_max_tokens, limits.max_tokens);
  sp.min_tokens = static_cast<int>(get_int(obj, "min_tokens", 0, sp.max_tokens).value_or(0));
  sp.temperature = static_cast<float>(get_number(obj, "temperature", 0, 2).value_or(1));
  sp.top_p = static_cast<float>(get_number(obj, "top_p", 0, 1).value_or(1));
  if (sp.top_p <= 0) throw bad_param("top_p", "'top_p' must be above 0");
  sp.top_k = static_cast<int>(get_int(obj, "top_k", -1, vocab).value_or(0));
  if (sp.top_k < 0) sp.top_k = 0;  // vLLM's -1 = off
  sp.min_p = static_cast<float>(get_number(obj, "min_p", 0, 1).value_or(0));
  sp.frequency_penalty =
      static_cast<float>(get_number(obj, "frequency_penalty", -2, 2).value_or(0));
  sp.presence_penalty = static_cast<float>(get_number(obj, "presence_penalty", -2, 2).value_or(0));
  sp.repetition_penalty =
      static_cast<float>(get_number(obj, "repetition_penalty", 0.01, 10).value_or(1));
  if (auto seed = get_int(obj, "seed", INT64_MIN, INT64_MAX))
    sp.seed = static_cast<uint64_t>(*seed);
  if (auto stop = get_string_list(obj, "stop", 16)) sp.stop = std::move(*stop);
  if (auto ids = get_token_ids(obj, "stop_token_ids", vocab)) {
    if (ids->size() > 64) throw bad_param("stop_token_ids", "'stop_token_ids' has over 64 ids");
    sp.stop_token_ids = std::move(*ids);
  }
  sp.ignore_eos = get_bool(obj, "ignore_eos").value_or(false);
  return sp;
}

const std::string& json_object_regex() {
  static const std::string re = [] {
    const std::string ws = "[ \\n]{0,2}";
    const std::string str = R"("(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")";
    const std::string num = R"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)";
    std::string scalar = "(?:" + str + "|" + num + "|true|false|null)";
    std::string value = scalar;
    for (int depth = 0; depth < 3; ++depth) {
      std::string member = str + ws + ":" + ws + value;
      std::string object =
          "\\{" + ws + "(?:" + member + "(?:" + ws + "," + ws + member + ")*)?" + ws + "\\}";
      std::string array =
          "\\[" + ws + "(?:" + value + "(?:" + ws + "," + ws + value + ")*)?" + ws + "\\]";
      if (depth == 2) return object;
      value = "(?:" + scalar + "|" + object + "|" + array + ")";
    }
    return value;
  }();
  return re;
}

std::shared_ptr<const engine::TokenConstraint> build_constraint(
    const ConstraintSpec& spec, const std::shared_ptr<const constraint::Vocabulary>& vocab) {
  try {
    switch (spec.kind) {
      case ConstraintSpec::Kind::None:
        return nullptr;
      case ConstraintSpec::Kind::Regex:
        return constraint::regex_constraint(spec.regex, vocab);
      case ConstraintSpec::Kind::JsonSchema:
        return constraint::json_constraint(spec.schema, vocab);
      case ConstraintSpec::Kind::Choices:
        return constraint::choices_constraint(spec.choices, vocab);
    }
  } catch (const sgp::Error& e) {
    throw ApiError(400, std::string("bad output constraint: ") + e.what(), "invalid_request_error",
                   "response_format");
  }
  return nullptr;
}

}  // namespace sgp::server
