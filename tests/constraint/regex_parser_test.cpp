// Tests for the regex parser: accepted syntax and positioned errors.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "constraint/regex_parser.h"

#include <doctest/doctest.h>

#include "constraint/constraint_factory.h"
#include "constraint/dfa.h"

using namespace sgp::constraint;

namespace {

size_t error_position(const std::string& pattern) {
  try {
    parse_regex(pattern);
  } catch (const PatternError& e) {
    return e.position();
  }
  FAIL("no error for " << pattern);
  return 0;
}

std::string error_reason(const std::string& pattern) {
  try {
    parse_regex(pattern);
  } catch (const PatternError& e) {
    return e.reason();
  }
  return "";
}

}  // namespace

TEST_CASE("malformed patterns report the offset where they go wrong") {
  CHECK(error_position("ab(cd") == 2);
  CHECK(error_position("abc)") == 3);
  CHECK(error_position("a|*b") == 2);
  CHECK(error_position("[a-") == 0);
  CHECK(error_position("x[z-a]") == 2);
  CHECK(error_position("ab\\") == 2);
  CHECK(error_position("a{3,2}") == 1);
  CHECK(error_position("a{1001}") == 1);
  CHECK(error_position("a**") == 2);
  CHECK(error_position("(?=a)b") == 0);
  CHECK(error_position("(?i)abc") == 0);
  CHECK(error_position("ab\\1") == 2);
  CHECK(error_position("a\\bc") == 1);
  CHECK(error_position("a^b") == 1);
  CHECK(error_position("a$b") == 1);
  CHECK(error_position("\\x{D800}") == 0);
  CHECK(error_position("\\x{110000}") == 0);
  CHECK(error_position("abc\\q") == 3);
  CHECK(error_position("\\p{L}") == 0);
  CHECK(error_position("a*+") == 2);
  CHECK(error_position(std::string("ok\xff", 3)) == 2);
  CHECK(error_position(std::string(300, '(')) < 300);
}

TEST_CASE("error messages say what is wrong") {
  CHECK(error_reason("ab(cd") == "missing ')'");
  CHECK(error_reason("*a") == "nothing to repeat");
  CHECK(error_reason("(a)\\1") == "backreferences are not supported");
  CHECK(error_reason("[b-a]") == "range out of order in character class");
  auto msg = validate_regex("ab(cd");
  REQUIRE(msg);
  CHECK(msg->find("offset 2") != std::string::npos);
  CHECK(msg->find("missing ')'") != std::string::npos);
}

TEST_CASE("validate_regex accepts good patterns and rejects empty languages") {
  CHECK_FALSE(validate_regex("[a-z]+@[a-z]+\\.com"));
  CHECK_FALSE(validate_regex("^(yes|no)$"));
  auto empty = validate_regex("a[]b");
  REQUIRE(empty);
  CHECK(empty->find("empty") != std::string::npos);
  CHECK(validate_regex("[^\\s\\S]"));
  CHECK(validate_regex("x{1000}{1000}"));  // repeat of repeat
  auto big = validate_regex("((((a{1000}){1000}){1000}))");
  REQUIRE(big);
}

TEST_CASE("anchors, lazy quantifiers, named groups and literal braces are accepted") {
  CHECK(Dfa::from_pattern("^abc$").full_match("abc"));
  CHECK(Dfa::from_pattern("a+?b").full_match("aab"));
  CHECK(Dfa::from_pattern("(?P<x>a)(?<y>b)(?:c)").full_match("abc"));
  CHECK(Dfa::from_pattern("a{x}").full_match("a{x}"));
  CHECK(Dfa::from_pattern("a{,3}").full_match("a{,3}"));
  CHECK(Dfa::from_pattern("\\$5").full_match("$5"));
  CHECK(Dfa::from_pattern("a\\\\$").full_match("a\\"));
  CHECK(Dfa::from_pattern("(a|)b").full_match("b"));
  CHECK(Dfa::from_pattern("").full_match(""));
}

TEST_CASE("regex_escape makes any text a literal pattern") {
  for (std::string text : {"a.b*c", "(x|y)", "[1]{2}", "\\^$", "line\nbreak", "naïve ☃"}) {
    Dfa dfa = Dfa::from_pattern(regex_escape(text));
    CHECK(dfa.full_match(text));
    CHECK(dfa.n_states() == static_cast<int32_t>(text.size()) + 1);
  }
}
