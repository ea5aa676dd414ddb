// SchemaValidator: a small JSON Schema checker for the tests, written apart from the schema
// compiler.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sgp::constraint::testing {

// Why `value` does not satisfy `schema` (resolving $ref against `root`), or nullopt if it does.
// Keyword meanings follow the JSON Schema spec (pattern is a search, lengths count code points).
std::optional<std::string> validate(const nlohmann::json& value, const nlohmann::json& schema,
                                    const nlohmann::json& root);

}  // namespace sgp::constraint::testing
