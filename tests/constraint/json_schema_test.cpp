// Tests for the JSON Schema compiler: generated languages, whitespace policy and errors.
#include "constraint/json_schema.h"

#include <doctest/doctest.h>

#include "constraint/constraint_factory.h"
#include "constraint/dfa.h"
#include "sgp/error.h"

using namespace sgp::constraint;
using Json = nlohmann::ordered_json;

namespace {

Dfa schema_dfa(const std::string& schema, JsonSchemaOptions o = {}) {
  return Dfa::from_pattern(json_schema_to_regex(Json::parse(schema), o));
}

std::string schema_error(const std::string& schema) {
  auto e = validate_json_schema(std::string_view(schema));
  return e ? *e : "";
}

}  // namespace

TEST_CASE("objects keep schema order; optional properties may be left out") {
  Dfa d =
      schema_dfa(R"({"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"boolean"},
                        "c":{"type":"string"}},"required":["a"]})");
  CHECK(d.full_match(R"({"a":true})"));
  CHECK(d.full_match(R"({"b":-12,"a":false,"c":"x"})"));
  CHECK(d.full_match(R"({"a":true,"c":""})"));
  CHECK_FALSE(d.full_match(R"({"a":true,"b":1})"));  // out of order
  CHECK_FALSE(d.full_match(R"({"b":1})"));           // missing required
  CHECK_FALSE(d.full_match(R"({,"a":true})"));
  CHECK_FALSE(d.full_match(R"({"b":1,,"a":true})"));
  Dfa all_optional = schema_dfa(R"({"properties":{"x":{"type":"null"},"y":{"type":"null"}}})");
  for (const char* ok : {"{}", R"({"x":null})", R"({"y":null})", R"({"x":null,"y":null})"})
    CHECK(all_optional.full_match(ok));
  CHECK_FALSE(all_optional.full_match(R"({"x":null,})"));
}

TEST_CASE("strings: escapes, lengths in characters, patterns, formats, enums") {
  Dfa s = schema_dfa(R"({"type":"string","minLength":2,"maxLength":3})");
  CHECK(s.full_match(R"("ab")"));
  CHECK(s.full_match(R"("日本語")"));
  CHECK(s.full_match(R"("a\n\u00e9")"));
  CHECK_FALSE(s.full_match(R"("a")"));
  CHECK_FALSE(s.full_match(R"("abcd")"));
  CHECK_FALSE(s.full_match("\"a\nb\""));      // raw control character
  CHECK_FALSE(s.full_match(R"("a\ud800")"));  // lone surrogate escape
  CHECK_FALSE(s.full_match(R"("a\x")"));
  Dfa p = schema_dfa(R"({"type":"string","pattern":"^[A-Z]{2}-\\d+$"})");
  CHECK(p.full_match(R"("AB-12")"));
  CHECK_FALSE(p.full_match(R"("AB-")"));
  Dfa f = schema_dfa(R"({"type":"string","format":"date"})");
  CHECK(f.full_match(R"("2024-02-29")"));
  CHECK_FALSE(f.full_match(R"("2024-13-01")"));
  CHECK(f.full_match(R"("2000-02-29")"));
  CHECK_FALSE(f.full_match(R"("1900-02-29")"));
  CHECK_FALSE(f.full_match(R"("2023-02-29")"));
  CHECK_FALSE(f.full_match(R"("2024-04-31")"));
  CHECK_FALSE(f.full_match(R"("0000-01-01")"));
  Dfa e = schema_dfa(R"({"enum":["red","green",3,null,{"k":[1]}]})");
  for (const char* ok : {R"("red")", R"("green")", "3", "null", R"({"k":[1]})"})
    CHECK(e.full_match(ok));
  CHECK_FALSE(e.full_match("red"));
  CHECK(schema_dfa(R"({"const":"a\"b"})").full_match(R"("a\"b")"));
}

TEST_CASE("numbers, arrays with bounds, type unions, anyOf and $ref") {
  Dfa n = schema_dfa(R"({"type":"number"})");
  for (const char* ok : {"0", "-1.5", "3e10", "2.5E-3", "12"}) CHECK(n.full_match(ok));
  for (const char* bad : {"01", "1.", ".5", "+1", "1e"}) CHECK_FALSE(n.full_match(bad));
  Dfa i = schema_dfa(R"({"type":"integer"})");
  CHECK(i.full_match("-0"));
  CHECK_FALSE(i.full_match("1.0"));
  Dfa a = schema_dfa(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})");
  CHECK(a.full_match("[1]"));
  CHECK(a.full_match("[1,2,3]"));
  CHECK_FALSE(a.full_match("[]"));
  CHECK_FALSE(a.full_match("[1,2,3,4]"));
  Dfa u = schema_dfa(R"({"type":["integer","null"]})");
  CHECK(u.full_match("null"));
  CHECK(u.full_match("5"));
  Dfa r = schema_dfa(
      R"({"$defs":{"pt":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},
                        "type":"array","items":{"anyOf":[{"$ref":"#/$defs/pt"},{"type":"boolean"}]}})");
  CHECK(r.full_match(R"([{"x":1},true])"));
  CHECK_FALSE(r.full_match(R"([{"y":1}])"));
}

TEST_CASE("whitespace policy: compact by default, bounded when flexible") {
  const std::string schema =
      R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}},"required":["a"]})";
  Dfa compact = schema_dfa(schema);
  CHECK(compact.full_match(R"({"a":[1,2]})"));
  CHECK_FALSE(compact.full_match(R"({"a": [1, 2]})"));
  JsonSchemaOptions flex;
  flex.whitespace = JsonWhitespace::Flexible;
  flex.max_whitespace = 3;
  Dfa loose = schema_dfa(schema, flex);
  CHECK(loose.full_match(R"({"a":[1,2]})"));
  CHECK(loose.full_match("{\n  \"a\": [1, 2]\n}"));
  CHECK_FALSE(loose.full_match("{     \"a\":[1,2]}"));
  flex.max_whitespace = 0;
  CHECK_THROWS_AS(json_schema_to_regex(Json::parse(schema), flex), sgp::Error);
}

TEST_CASE("bad schemas are errors that point at the problem") {
  CHECK(schema_error(R"({"type":"object","properties":{"a":{"type":"strng"}}})")
            .find("/properties/a/type") != std::string::npos);
  CHECK(schema_error(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["b"]})")
            .find("'b'") != std::string::npos);
  CHECK(schema_error(R"({"type":"integer","minimum":3})").find("'minimum' is not supported") !=
        std::string::npos);
  CHECK(schema_error(
            R"({"$defs":{"n":{"type":"array","items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"})")
            .find("recursive") != std::string::npos);
  CHECK(schema_error(R"({"type":"string","pattern":"a\"b"})").find("escape") != std::string::npos);
  CHECK(schema_error(R"({"type":"string","pattern":"a(b"})").find("invalid regex") !=
        std::string::npos);
  CHECK(schema_error(R"({"type":"string","maxLength":5000})").find("above 1000") !=
        std::string::npos);
  CHECK(schema_error(R"({"type":"array","minItems":2})").find("items") != std::string::npos);
  CHECK(schema_error(R"({})").find("any JSON value") != std::string::npos);
  CHECK(schema_error(R"({"enum":[]})").find("/enum") != std::string::npos);
  CHECK(schema_error(R"({"type":"object",)").find("not valid JSON") != std::string::npos);
  CHECK(schema_error(R"({"$ref":"#/nowhere"})").find("cannot resolve") != std::string::npos);
  CHECK(schema_error(R"({"type":"string","format":"email"})").find("email") != std::string::npos);
  CHECK_FALSE(validate_json_schema(std::string_view(
      R"({"type":"object","title":"T","description":"d","additionalProperties":false})")));
  CHECK_FALSE(validate_json_schema(nlohmann::json::parse(R"({"type":"boolean"})")));
}

TEST_CASE("choices compile to exactly the listed strings") {
  Dfa d = Dfa::from_pattern(choices_to_regex({"yes", "no", "a|b", "(x)"}));
  for (const char* ok : {"yes", "no", "a|b", "(x)"}) CHECK(d.full_match(ok));
  for (const char* bad : {"a", "x", "ye", "yesno"}) CHECK_FALSE(d.full_match(bad));
  CHECK_THROWS_AS(choices_to_regex({}), sgp::Error);
}
