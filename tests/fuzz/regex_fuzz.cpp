// Fuzz target: regex pattern → validate_regex and a token automaton over a small vocabulary,
// walked along the forced text and a few token steps.
#include <cstdint>
#include <string>

#include "constraint/constraint_factory.h"
#include "fuzz_target.h"
#include "sgp/error.h"
#include "small_vocabulary.h"

using namespace sgp::constraint;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string pattern(reinterpret_cast<const char*>(data), size);
  auto problem = validate_regex(pattern);
  std::shared_ptr<const TokenAutomaton> a;
  try {
    a = regex_constraint(pattern, sgp::fuzz::small_vocabulary());
  } catch (const sgp::Error&) {
    return 0;
  }
  // A pattern that builds over some vocabulary also validates.
  if (problem) __builtin_trap();
  sgp::fuzz::walk_automaton(*a, data, size);
  return 0;
}
