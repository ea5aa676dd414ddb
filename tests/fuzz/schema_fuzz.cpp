// Fuzz target: JSON Schema text → validate_json_schema, json_schema_to_regex and a token
// automaton over a small vocabulary (both whitespace modes).
#include <cstdint>
#include <string>

#include "constraint/constraint_factory.h"
#include "fuzz_target.h"
#include "sgp/error.h"
#include "small_vocabulary.h"

using namespace sgp::constraint;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096) return 0;
  JsonSchemaOptions options;
  if (data[0] & 1) {
    options.whitespace = JsonWhitespace::Flexible;
    options.max_whitespace = 1 + (data[0] >> 1) % 8;
  }
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)validate_json_schema(std::string_view(text), options);
  std::shared_ptr<const TokenAutomaton> a;
  try {
    a = json_constraint(std::string_view(text), sgp::fuzz::small_vocabulary(), options);
  } catch (const sgp::Error&) {
    return 0;
  }
  sgp::fuzz::walk_automaton(*a, data, size);
  return 0;
}
