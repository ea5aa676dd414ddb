// ConstraintFactory: the front door — regex, JSON Schema and choices constraints, and static
// checks.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "constraint/json_schema.h"
#include "constraint/token_automaton.h"
#include "constraint/vocabulary.h"

namespace sgp::constraint {

// All of these are cached process-wide per (resulting regex, vocabulary contents) and throw
// sgp::Error for a malformed pattern/schema (PatternError carries the offset in the pattern),
// a constraint too large to build, or one no token sequence of `vocab` can satisfy.
std::shared_ptr<const TokenAutomaton> regex_constraint(
    std::string_view pattern, const std::shared_ptr<const Vocabulary>& vocab);
// `schema_text`: the schema as JSON text (property order is kept).
std::shared_ptr<const TokenAutomaton> json_constraint(
    std::string_view schema_text, const std::shared_ptr<const Vocabulary>& vocab,
    const JsonSchemaOptions& options = {});
std::shared_ptr<const TokenAutomaton> json_constraint(
    const nlohmann::ordered_json& schema, const std::shared_ptr<const Vocabulary>& vocab,
    const JsonSchemaOptions& options = {});
// Exactly one of `choices` (not empty).
std::shared_ptr<const TokenAutomaton> choices_constraint(
    const std::vector<std::string>& choices, const std::shared_ptr<const Vocabulary>& vocab);

// Static checks without a vocabulary (for literals at compile time): the error message, or
// nullopt if the pattern/schema compiles to a non-empty language within the size limits.
std::optional<std::string> validate_regex(std::string_view pattern);
std::optional<std::string> validate_json_schema(const nlohmann::ordered_json& schema,
                                                const JsonSchemaOptions& options = {});
std::optional<std::string> validate_json_schema(const nlohmann::json& schema,
                                                const JsonSchemaOptions& options = {});
std::optional<std::string> validate_json_schema(std::string_view schema_text,
                                                const JsonSchemaOptions& options = {});

// The regex a schema or choice list compiles to (what the cache is keyed on).
std::string choices_to_regex(const std::vector<std::string>& choices);

}  // namespace sgp::constraint
