// JsonSchema: compiles the supported JSON Schema subset to a regex over the JSON text it allows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sgp/error.h"

namespace sgp::constraint {

enum class JsonWhitespace {
  Compact,   // no whitespace at all: {"a":1,"b":[1,2]}
  Flexible,  // up to max_whitespace of space, \n, \t, \r wherever JSON allows whitespace
};

struct JsonSchemaOptions {
  JsonWhitespace whitespace = JsonWhitespace::Compact;
  int max_whitespace = 4;  // Flexible only; 1 to 64
};

// A schema the subset cannot compile; `pointer()` is the JSON pointer of the offending node
// ("" for the root) so a compiler can point into a literal.
class SchemaError : public sgp::Error {
 public:
  SchemaError(std::string pointer, const std::string& reason);
  const std::string& pointer() const { return pointer_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string pointer_;
  std::string reason_;
};

// Properties are generated in schema order (hence ordered_json), only the declared ones (which
// satisfies any additionalProperties). Every generated text validates against the schema; a
// keyword the subset cannot honour is a SchemaError naming it, never ignored. Its message names
// the location, e.g. "json schema at /properties/age: ...".
std::string json_schema_to_regex(const nlohmann::ordered_json& schema,
                                 const JsonSchemaOptions& options = {});

}  // namespace sgp::constraint
