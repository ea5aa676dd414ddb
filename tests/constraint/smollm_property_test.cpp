// Property tests on the real model: constrained generation by SmolLM2 through the engine at
// temperature 1, several seeds, jump-forward on and off; RE2 and a separate validator check
// every output (the schema outputs are also written out for Python's jsonschema). Skipped when
// the model file has not been fetched.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>

#include "constraint/constraint_factory.h"
#include "engine/engine.h"
#include "model/backend.h"
#include "model/gguf_file.h"
#include "schema_validator.h"
#include "test_data.h"
#include "tokenizer/tokenizer.h"

using namespace sgp;
using Json = nlohmann::ordered_json;

namespace {

const std::string kModel = std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

// Seeds per constraint with jump-forward on; one more run with it off.
constexpr int kSeedsOn = 3;
constexpr int kMaxTokens = 64;

struct Model {
  std::shared_ptr<model::Tokenizer> tok;
  std::shared_ptr<const constraint::Vocabulary> vocab;
  std::unique_ptr<engine::Engine> on, off;  // jump-forward on / off

  Model() {
    auto file = model::GgufFile::open(kModel);
    tok = model::Tokenizer::from_gguf(*file);
    vocab = constraint::Vocabulary::from_tokenizer(*tok);
    for (bool jf : {true, false}) {
      engine::EngineOptions o;
      o.jump_forward = jf;
      (jf ? on : off) = std::make_unique<engine::Engine>(model::load_cpu_backend(kModel), tok, o);
    }
  }

  std::vector<int32_t> prompt(const std::string& user) const {
    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    auto rest = tok->encode("<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n");
    ids.insert(ids.end(), rest.begin(), rest.end());
    return ids;
  }
};

struct Job {
  size_t constraint;  // index into the caller's list
  uint64_t seed;
  bool jump_forward;
  std::future<engine::GenerateResult> result;
};

// Submits every (constraint, seed) pair at once so the engine batches them.
std::vector<Job> generate_all(
    Model& m, const std::vector<std::shared_ptr<const constraint::TokenAutomaton>>& cs,
    const std::vector<std::string>& prompts) {
  std::vector<Job> jobs;
  for (size_t i = 0; i < cs.size(); ++i) {
    for (int s = 0; s <= kSeedsOn; ++s) {
      engine::GenerateRequest r;
      r.prompt = m.prompt(prompts[i]);
      r.sampling.temperature = 1.0f;
      r.sampling.max_tokens = kMaxTokens;
      r.sampling.seed = static_cast<uint64_t>(1000 * i + s + 1);
      r.sampling.constraint = cs[i];
      auto done = std::make_shared<std::promise<engine::GenerateResult>>();
      Job job{i, *r.sampling.seed, s < kSeedsOn, done->get_future()};
      r.on_done = [done](engine::GenerateResult g) { done->set_value(std::move(g)); };
      (job.jump_forward ? m.on : m.off)->submit(std::move(r));
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

// An output that finished normally must be complete and match. At temperature 1 the model may
// wander inside an unbounded repeat until max_tokens: that is reported as an error (the only one
// allowed), counted, and must stay rare.
struct Tally {
  int matched = 0, out_of_tokens = 0;
  std::set<size_t> covered;  // constraints with at least one checked output
};

bool check_finish(const engine::GenerateResult& r, Tally& tally) {
  if (r.finish == engine::FinishReason::Error) {
    CHECK_MESSAGE(r.error.find("max_tokens") != std::string::npos, r.error);
    ++tally.out_of_tokens;
    return false;
  }
  CHECK((r.finish == engine::FinishReason::Eos || r.finish == engine::FinishReason::Stop ||
         r.finish == engine::FinishReason::Length));
  return true;
}

}  // namespace

TEST_CASE("smollm2: every regex output (temperature 1, 4 seeds) fully matches under RE2") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  Model m;
  auto regexes = constraint::testing::load_regexes();
  REQUIRE(regexes.size() >= 50);
  std::vector<std::shared_ptr<const constraint::TokenAutomaton>> cs;
  std::vector<std::string> prompts;
  for (const std::string& p : regexes) {
    cs.push_back(constraint::regex_constraint(p, m.vocab));
    prompts.push_back("Write one short example of text that matches the regular expression " + p);
  }
  Tally tally;
  for (Job& job : generate_all(m, cs, prompts)) {
    engine::GenerateResult r = job.result.get();
    const std::string& pattern = regexes[job.constraint];
    CAPTURE(pattern);
    CAPTURE(job.seed);
    CAPTURE(job.jump_forward);
    CAPTURE(r.text);
    if (!check_finish(r, tally)) continue;
    CHECK(m.tok->decode(r.tokens) == r.text);
    RE2 re(pattern);
    REQUIRE(re.ok());
    CHECK(RE2::FullMatch(r.text, re));
    tally.matched += RE2::FullMatch(r.text, re);
    tally.covered.insert(job.constraint);
  }
  const int total = static_cast<int>(regexes.size()) * (kSeedsOn + 1);
  MESSAGE(tally.matched << " of " << total << " regex outputs matched; " << tally.out_of_tokens
                        << " ran out of max_tokens=" << kMaxTokens << " (an error, not output); "
                        << tally.covered.size() << " regexes with a checked output");
  CHECK(tally.matched + tally.out_of_tokens == total);
  CHECK(tally.covered.size() >= 50);
  CHECK(tally.out_of_tokens * 5 <= total);
}

TEST_CASE("smollm2: every schema output (temperature 1, 4 seeds) validates") {
  const std::string dump_path =
      std::string(SGP_BINARY_DIR) + "/constraint_smollm_schema_outputs.jsonl";
  if (!std::filesystem::exists(kModel)) {
    std::filesystem::remove(dump_path);  // the jsonschema check then reports itself skipped
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  Model m;
  std::ifstream in(std::string(SGP_SOURCE_DIR) + "/tests/data/constraint/schemas.json");
  Json schemas = Json::parse(in);
  REQUIRE(schemas.size() >= 20);
  std::vector<std::shared_ptr<const constraint::TokenAutomaton>> cs;
  std::vector<std::string> prompts;
  for (size_t i = 0; i < schemas.size(); ++i) {
    constraint::JsonSchemaOptions o;  // every other schema with flexible whitespace
    if (i % 2) o.whitespace = constraint::JsonWhitespace::Flexible, o.max_whitespace = 2;
    cs.push_back(constraint::json_constraint(schemas[i], m.vocab, o));
    prompts.push_back("Reply with JSON for this schema: " + schemas[i].dump());
  }
  std::ofstream dump(dump_path);
  Tally tally;
  for (Job& job : generate_all(m, cs, prompts)) {
    engine::GenerateResult r = job.result.get();
    nlohmann::json plain = nlohmann::json::parse(schemas[job.constraint].dump());
    CAPTURE(plain.dump());
    CAPTURE(job.seed);
    CAPTURE(job.jump_forward);
    CAPTURE(r.text);
    if (!check_finish(r, tally)) continue;
    CHECK(m.tok->decode(r.tokens) == r.text);
    nlohmann::json value = nlohmann::json::parse(r.text, nullptr, false);
    CHECK_FALSE(value.is_discarded());
    if (value.is_discarded()) continue;
    auto why = constraint::testing::validate(value, plain, plain);
    CHECK_MESSAGE(!why, (why ? *why : ""));
    tally.matched += !why;
    tally.covered.insert(job.constraint);
    dump << nlohmann::json{{"schema", plain}, {"output", r.text}}.dump() << "\n";
  }
  const int total = static_cast<int>(schemas.size()) * (kSeedsOn + 1);
  MESSAGE(tally.matched << " of " << total << " schema outputs validated; " << tally.out_of_tokens
                        << " ran out of max_tokens=" << kMaxTokens << " (an error, not output); "
                        << tally.covered.size() << " schemas with a checked output");
  CHECK(tally.matched + tally.out_of_tokens == total);
  CHECK(tally.covered.size() >= 20);
  CHECK(tally.out_of_tokens * 5 <= total);
}

TEST_CASE("smollm2: jump-forward re-tokenizes each boundary canonically") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("model not fetched (make model); skipped");
    return;
  }
  // Every sampled token here starts a pre-token of SmolLM2's tokenizer (a word, a digit, after
  // `"` or a space), so the sampled token re-tokenized with the forced text that follows must
  // give exactly the canonical tokens of the whole output. The names are rare words: the model
  // samples their first piece and the rest is forced, so a sampled piece tokenized apart from
  // the forced rest ("x" + "ylophonist") would differ from the canonical split.
  Model m;
  auto con = constraint::regex_constraint(
      R"re(\{"name": "(xylophonist|quokkaherder|zyzzyvaman)", "age": [1-9], "city": "(paris|rome|oslo)"\})re",
      m.vocab);
  std::vector<std::future<engine::GenerateResult>> results;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    engine::GenerateRequest r;
    r.prompt = m.prompt("A person as JSON.");
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
    r.sampling.max_tokens = 64;
    r.sampling.constraint = con;
    auto done = std::make_shared<std::promise<engine::GenerateResult>>();
    results.push_back(done->get_future());
    r.on_done = [done](engine::GenerateResult g) { done->set_value(std::move(g)); };
    m.on->submit(std::move(r));
  }
  for (auto& f : results) {
    engine::GenerateResult r = f.get();
    CAPTURE(r.text);
    CHECK(r.finish != engine::FinishReason::Error);
    CHECK(con->dfa().full_match(r.text));
    CHECK(r.tokens == m.tok->encode(r.text, false));
  }
  CHECK(m.on->stats().forced_tokens >= 8 * 10);
}
