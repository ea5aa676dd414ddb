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
  CHECK(
      schema_error(R"({"type":"integer","multipleOf":3})").find("'multipleOf' is not supported") !=
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
  CHECK(schema_error(R"({"type":"string","format":"hostname"})").find("'hostname'") !=
        std::string::npos);
  CHECK_FALSE(validate_json_schema(std::string_view(
      R"({"type":"object","title":"T","description":"d","additionalProperties":false})")));
  CHECK_FALSE(validate_json_schema(nlohmann::json::parse(R"({"type":"boolean"})")));
}

TEST_CASE("integer and number bounds") {
  Dfa i = schema_dfa(R"({"type":"integer","minimum":-3,"exclusiveMaximum":10})");
  for (int n = -20; n <= 20; ++n) CHECK(i.full_match(std::to_string(n)) == (n >= -3 && n < 10));
  Dfa f = schema_dfa(R"({"type":"integer","minimum":1.5,"maximum":4.5})");
  for (int n = 0; n <= 6; ++n) CHECK(f.full_match(std::to_string(n)) == (n >= 2 && n <= 4));
  Dfa pos = schema_dfa(R"({"type":"integer","exclusiveMinimum":0})");
  CHECK(pos.full_match("1"));
  CHECK(pos.full_match("9999999999999999"));
  CHECK_FALSE(pos.full_match("0"));
  CHECK_FALSE(pos.full_match("-4"));
  Dfa unit = schema_dfa(R"({"type":"number","minimum":0,"maximum":1})");
  for (const char* ok : {"0", "1", "0.5", "0.25", "0.999"}) CHECK(unit.full_match(ok));
  for (const char* bad : {"-0.5", "1.5", "2", "-1", "1e0"}) CHECK_FALSE(unit.full_match(bad));
  CHECK(schema_error(R"({"type":"number","minimum":0.5})").find("whole numbers") !=
        std::string::npos);
  CHECK(schema_error(R"({"type":"integer","minimum":5,"maximum":4})").find("minimum/maximum") !=
        std::string::npos);
  CHECK(schema_error(R"({"type":"integer","exclusiveMinimum":true})").find("draft 4") !=
        std::string::npos);
}

TEST_CASE("oneOf is accepted when its branches are provably exclusive, refused otherwise") {
  Dfa d = schema_dfa(R"({"oneOf":[{"type":"string","maxLength":3},{"type":"integer"},
      {"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind","x"]},
      {"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]}]})");
  for (const char* ok : {R"("ab")", "12", R"({"kind":"a","x":1})", R"({"kind":"b"})"})
    CHECK(d.full_match(ok));
  CHECK_FALSE(d.full_match(R"({"kind":"c"})"));
  CHECK(schema_error(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})")
            .find("branches 0 and 1") != std::string::npos);
  CHECK(schema_error(R"({"oneOf":[{"enum":[1,2]},{"const":2}]})").find("anyOf") !=
        std::string::npos);
  CHECK_FALSE(validate_json_schema(std::string_view(R"({"oneOf":[{"enum":[1,2]},{"const":3}]})")));
}

TEST_CASE("arrays: prefixItems then items, the older items array, items false") {
  Dfa t = schema_dfa(R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"boolean"}],
                         "items":{"type":"null"},"minItems":1,"maxItems":4})");
  for (const char* ok : {"[1]", "[1,true]", "[1,true,null]", "[1,true,null,null]"})
    CHECK(t.full_match(ok));
  for (const char* bad : {"[]", "[true]", "[1,null]", "[1,true,null,null,null]", "[1,true,1]"})
    CHECK_FALSE(t.full_match(bad));
  Dfa closed = schema_dfa(
      R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"integer"}],"items":false})");
  for (const char* ok : {"[]", "[1]", "[1,2]"}) CHECK(closed.full_match(ok));
  CHECK_FALSE(closed.full_match("[1,2,3]"));
  Dfa old =
      schema_dfa(R"({"type":"array","items":[{"const":"x"}],"additionalItems":{"type":"integer"},
                          "minItems":2})");
  CHECK(old.full_match(R"(["x",1,2])"));
  CHECK_FALSE(old.full_match(R"(["x"])"));
  CHECK(
      schema_error(R"({"type":"array","prefixItems":[{"type":"null"}],"items":false,"minItems":2})")
          .find("minItems") != std::string::npos);
  CHECK(schema_error(R"({"type":"array","items":{"type":"null"},"uniqueItems":true})")
            .find("uniqueItems") != std::string::npos);
}

TEST_CASE("objects: additionalProperties, maps, keywords beside combinators") {
  CHECK_FALSE(validate_json_schema(std::string_view(
      R"({"type":"object","properties":{"a":{"type":"null"}},"additionalProperties":{"type":"integer"}})")));
  Dfa map = schema_dfa(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  for (const char* ok : {"{}", R"({"a":1})", R"({"a":1,"b c":-2})"}) CHECK(map.full_match(ok));
  CHECK_FALSE(map.full_match(R"({"a":"x"})"));
  CHECK(
      schema_error(R"({"type":"object","additionalProperties":3})").find("/additionalProperties") !=
      std::string::npos);
  CHECK(schema_error(R"({"$defs":{"a":{"type":"null"}},"$ref":"#/$defs/a","maxLength":2})")
            .find("'maxLength' beside '$ref'") != std::string::npos);
  CHECK(schema_error(R"({"type":"object","anyOf":[{"type":"null"}]})")
            .find("'type' beside 'anyOf'") != std::string::npos);
  CHECK(schema_error(R"({"enum":["a","bb"],"maxLength":1})").find("'maxLength' beside 'enum'") !=
        std::string::npos);
  Dfa typed_enum = schema_dfa(R"({"type":"string","enum":["a",1,null]})");
  CHECK(typed_enum.full_match(R"("a")"));
  CHECK_FALSE(typed_enum.full_match("1"));
  CHECK(schema_error(R"({"type":"string","const":1})").find("const/enum") != std::string::npos);
  Dfa nested = schema_dfa(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"type":"boolean"}},
                             "type":"array","items":{"$ref":"#/$defs/a"}})");
  CHECK(nested.full_match("[true,false]"));
}

TEST_CASE("schemas that would expand exponentially are errors, quickly") {
  // Each level refers twice to the next: 2^28 copies of the innermost schema.
  Json defs = Json::object();
  for (int i = 0; i < 28; ++i) {
    std::string next = std::string("#/$defs/d").append(std::to_string(i + 1));
    defs[std::string("d").append(std::to_string(i))] = {
        {"anyOf", Json::array({{{"$ref", next}}, {{"$ref", next}}})}};
  }
  defs["d28"] = {{"type", "boolean"}};
  Json doubling = {{"$defs", defs}, {"$ref", "#/$defs/d0"}};
  CHECK_THROWS_WITH_AS(json_schema_to_regex(doubling), doctest::Contains("MiB of pattern"),
                       SchemaError);
  // The same shape under oneOf, recursive: the exclusivity analysis is bounded too.
  Json recursive = Json::parse(
      R"({"$defs":{"a":{"oneOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"})");
  CHECK_THROWS_AS(json_schema_to_regex(recursive), SchemaError);
}

TEST_CASE("schema errors carry the JSON pointer of the offending node") {
  try {
    json_schema_to_regex(Json::parse(R"({"type":"object","properties":{"a":{"type":"strng"}}})"));
    FAIL("no error");
  } catch (const SchemaError& e) {
    CHECK(e.pointer() == "/properties/a/type");
    CHECK(e.reason() == "unknown type 'strng'");
  }
}

TEST_CASE("choices compile to exactly the listed strings") {
  Dfa d = Dfa::from_pattern(choices_to_regex({"yes", "no", "a|b", "(x)"}));
  for (const char* ok : {"yes", "no", "a|b", "(x)"}) CHECK(d.full_match(ok));
  for (const char* bad : {"a", "x", "ye", "yesno"}) CHECK_FALSE(d.full_match(bad));
  CHECK_THROWS_AS(choices_to_regex({}), sgp::Error);
}
