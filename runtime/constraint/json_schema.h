// JsonSchema: compiles the supported JSON Schema subset to a regex over the JSON text it allows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sgp::constraint {

enum class JsonWhitespace {
  Compact,   // no whitespace at all: {"a":1,"b":[1,2]}
  Flexible,  // up to max_whitespace of space, \n, \t, \r wherever JSON allows whitespace
};

struct JsonSchemaOptions {
  JsonWhitespace whitespace = JsonWhitespace::Compact;
  int max_whitespace = 4;  // Flexible only; 1 to 64
};

// Properties are generated in schema order (hence ordered_json). Throws sgp::Error naming the
// offending location as a JSON pointer, e.g. "json schema at /properties/age: ...".
std::string json_schema_to_regex(const nlohmann::ordered_json& schema,
                                 const JsonSchemaOptions& options = {});

}  // namespace sgp::constraint
