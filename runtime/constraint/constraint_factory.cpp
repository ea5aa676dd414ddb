// ConstraintFactory: every constraint is a regex; this turns each front-door form into one.
#include "constraint/constraint_factory.h"

#include "constraint/constraint_cache.h"
#include "constraint/dfa.h"
#include "constraint/regex_parser.h"
#include "sgp/error.h"

namespace sgp::constraint {

namespace {

std::shared_ptr<const TokenAutomaton> build_cached(const std::string& regex,
                                                   const std::string& what,
                                                   const std::shared_ptr<const Vocabulary>& vocab) {
  if (!vocab) throw sgp::Error("constraint: no vocabulary");
  return ConstraintCache::instance().get(regex, vocab->fingerprint(), [&] {
    return std::make_shared<const TokenAutomaton>(Dfa::from_pattern(regex), vocab, what);
  });
}

nlohmann::ordered_json parse_schema(std::string_view text) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw sgp::Error(std::string("json schema is not valid JSON: ") + e.what());
  }
}

std::optional<std::string> check_regex_language(const std::string& regex, const std::string& what) {
  try {
    if (Dfa::from_pattern(regex).empty()) return what + " can never match: its language is empty";
  } catch (const sgp::Error& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const TokenAutomaton> regex_constraint(
    std::string_view pattern, const std::shared_ptr<const Vocabulary>& vocab) {
  return build_cached(std::string(pattern), "regex", vocab);
}

std::shared_ptr<const TokenAutomaton> json_constraint(
    std::string_view schema_text, const std::shared_ptr<const Vocabulary>& vocab,
    const JsonSchemaOptions& options) {
  return json_constraint(parse_schema(schema_text), vocab, options);
}

std::shared_ptr<const TokenAutomaton> json_constraint(
    const nlohmann::ordered_json& schema, const std::shared_ptr<const Vocabulary>& vocab,
    const JsonSchemaOptions& options) {
  return build_cached(json_schema_to_regex(schema, options), "json schema", vocab);
}

std::string choices_to_regex(const std::vector<std::string>& choices) {
  if (choices.empty()) throw sgp::Error("choices: the list is empty");
  std::string regex;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i) regex += '|';
    regex += regex_escape(choices[i]);
  }
  return regex;
}

std::shared_ptr<const TokenAutomaton> choices_constraint(
    const std::vector<std::string>& choices, const std::shared_ptr<const Vocabulary>& vocab) {
  return build_cached(choices_to_regex(choices), "choices", vocab);
}

std::optional<std::string> validate_regex(std::string_view pattern) {
  return check_regex_language(std::string(pattern), "regex");
}

std::optional<std::string> validate_json_schema(const nlohmann::ordered_json& schema,
                                                const JsonSchemaOptions& options) {
  std::string regex;
  try {
    regex = json_schema_to_regex(schema, options);
  } catch (const sgp::Error& e) {
    return e.what();
  }
  return check_regex_language(regex, "json schema");
}

std::optional<std::string> validate_json_schema(const nlohmann::json& schema,
                                                const JsonSchemaOptions& options) {
  return validate_json_schema(nlohmann::ordered_json::parse(schema.dump()), options);
}

std::optional<std::string> validate_json_schema(std::string_view schema_text,
                                                const JsonSchemaOptions& options) {
  try {
    return validate_json_schema(parse_schema(schema_text), options);
  } catch (const sgp::Error& e) {
    return e.what();
  }
}

}  // namespace sgp::constraint
