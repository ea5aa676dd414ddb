// Property tests: random constrained generation over SmolLM2's vocabulary, checked by RE2 and a
// separate validator.
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <fstream>

#include "constrained_driver.h"
#include "constraint/constraint_factory.h"
#include "schema_validator.h"
#include "test_data.h"

using namespace sgp::constraint;

namespace {

// Four sampling styles per seed: uniform or random logits, jump-forward off or on.
std::vector<testing::DriveOptions> drive_styles(int seeds) {
  std::vector<testing::DriveOptions> out;
  for (int seed = 1; seed <= seeds; ++seed) {
    for (int style = 0; style < 4; ++style) {
      testing::DriveOptions o;
      o.seed = static_cast<uint64_t>(seed * 7919 + style);
      o.random_logits = style & 1;
      o.jump_forward = style & 2;
      out.push_back(o);
    }
  }
  return out;
}

int whitespace_outside_strings(const std::string& json) {
  int n = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else {
      n += c == ' ' || c == '\n' || c == '\t' || c == '\r';
    }
  }
  return n;
}

bool valid_utf8(const std::string& s) {
  return RE2::FullMatch(s, RE2("(?s).*"));
}

}  // namespace

TEST_CASE("every constrained generation matches its regex (RE2 full match)") {
  auto vocab = testing::smollm2_vocab();
  REQUIRE(vocab->size() == 49152);
  auto regexes = testing::load_regexes();
  REQUIRE(regexes.size() >= 50);
  int outputs = 0;
  for (const std::string& pattern : regexes) {
    CAPTURE(pattern);
    RE2 re(pattern);
    REQUIRE(re.ok());
    auto c = regex_constraint(pattern, vocab);
    testing::ConstrainedDriver driver(*c, *vocab);
    for (const auto& o : drive_styles(3)) {
      auto r = driver.run(o);
      CAPTURE(r.text);
      CHECK(r.problem == "");
      CHECK(r.accepted);
      CHECK(valid_utf8(r.text));
      CHECK(RE2::FullMatch(r.text, re));
      std::string joined;
      for (int32_t t : r.tokens) joined += vocab->bytes(t);
      CHECK(joined == r.text);
      ++outputs;
    }
  }
  MESSAGE(outputs << " regex outputs checked");
}

TEST_CASE("every constrained generation validates against its schema") {
  auto vocab = testing::smollm2_vocab();
  std::ifstream in(std::string(SGP_SOURCE_DIR) + "/tests/data/constraint/schemas.json");
  nlohmann::ordered_json schemas = nlohmann::ordered_json::parse(in);
  REQUIRE(schemas.size() >= 20);
  std::ofstream dump(std::string(SGP_BINARY_DIR) + "/constraint_schema_outputs.jsonl");
  int outputs = 0;
  for (const auto& schema : schemas) {
    CAPTURE(schema.dump());
    nlohmann::json plain = nlohmann::json::parse(schema.dump());
    for (bool flexible : {false, true}) {
      JsonSchemaOptions opts;
      opts.whitespace = flexible ? JsonWhitespace::Flexible : JsonWhitespace::Compact;
      opts.max_whitespace = 2;
      auto c = json_constraint(schema, vocab, opts);
      testing::ConstrainedDriver driver(*c, *vocab);
      for (const auto& o : drive_styles(2)) {
        auto r = driver.run(o);
        CAPTURE(r.text);
        CHECK(r.problem == "");
        CHECK(r.accepted);
        nlohmann::json value;
        bool parsed = true;
        try {
          value = nlohmann::json::parse(r.text);
        } catch (const nlohmann::json::exception&) {
          parsed = false;
        }
        CHECK(parsed);
        if (!parsed) continue;
        auto why = testing::validate(value, plain, plain);
        CHECK_MESSAGE(!why, (why ? *why : ""));
        if (!flexible) CHECK(whitespace_outside_strings(r.text) == 0);
        dump << nlohmann::json{{"schema", plain}, {"output", r.text}}.dump() << "\n";
        ++outputs;
      }
    }
  }
  MESSAGE(outputs << " schema outputs checked");
}

TEST_CASE("jump-forward skips sampling steps on JSON without changing what can be produced") {
  auto vocab = testing::smollm2_vocab();
  auto c = json_constraint(
      std::string_view(
          R"({"type":"object","properties":{"first_name":{"type":"string","maxLength":8},
      "last_name":{"type":"string","maxLength":8},"is_member":{"type":"boolean"}},"required":["first_name","last_name","is_member"]})"),
      vocab);
  testing::ConstrainedDriver driver(*c, *vocab);
  int sampled_off = 0, sampled_on = 0, jumps = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    testing::DriveOptions o;
    o.seed = seed;
    auto off = driver.run(o);
    o.jump_forward = true;
    auto on = driver.run(o);
    CHECK(off.accepted);
    CHECK(on.accepted);
    CHECK(c->dfa().full_match(on.text));
    sampled_off += off.sampled;
    sampled_on += on.sampled;
    jumps += on.jumps;
  }
  CHECK(jumps >= 20 * 3);  // the opening and two key separators are forced every time
  CHECK(sampled_on < sampled_off);
}
