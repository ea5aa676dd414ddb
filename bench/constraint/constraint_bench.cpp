// Constraint benchmark: cold and cached automaton builds for a 50-field schema, mask speed,
// simulated jump-forward; JSON out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "constrained_driver.h"
#include "constraint/constraint_cache.h"
#include "constraint/constraint_factory.h"
#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::constraint;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A record of 50 fields of every kind the schema subset has, like an extraction form.
Json fifty_field_schema(bool all_required) {
  Json props = Json::object();
  for (int i = 0; i < 50; ++i) {
    std::string name = "field_" + std::to_string(i);
    switch (i % 8) {
      case 0:
      case 1:
      case 2:
        props[name + "_text"] = {{"type", "string"}};
        break;
      case 3:
        props[name + "_count"] = {{"type", "integer"}};
        break;
      case 4:
        props[name + "_score"] = {{"type", "number"}};
        break;
      case 5:
        props[name + "_flag"] = {{"type", "boolean"}};
        break;
      case 6:
        props[name + "_kind"] = {{"enum", {"alpha", "beta", "gamma", "delta"}}};
        break;
      case 7:
        props[name + "_tags"] = {
            {"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 12}}}, {"maxItems", 4}};
        break;
    }
  }
  Json required = Json::array();
  for (const auto& [k, v] : props.items()) required.push_back(k);
  if (!all_required) return {{"type", "object"}, {"properties", props}};
  return {{"type", "object"}, {"properties", props}, {"required", required}};
}

struct BuildTimes {
  double build_ms = 0;       // median construction (DFA + liveness; rows come on first use)
  double precompute_ms = 0;  // median time to compute every row afterwards
  double dfa_ms = 0;
  int32_t states = 0;
  double memory_mb = 0;  // with every row computed
  bool lazy = true;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

BuildTimes time_builds(const Json& schema, const std::shared_ptr<const Vocabulary>& vocab) {
  BuildTimes out;
  std::vector<double> build, pre;
  for (int i = 0; i < 5; ++i) {
    ConstraintCache::instance().clear();
    auto t = Clock::now();
    auto a = json_constraint(schema, vocab);
    build.push_back(ms_since(t));
    t = Clock::now();
    a->precompute_all();
    pre.push_back(ms_since(t));
    out.states = a->n_states();
    out.memory_mb = a->memory_bytes() / 1048576.0;
    out.lazy = a->lazy();
  }
  auto t = Clock::now();
  Dfa::from_pattern(json_schema_to_regex(schema));
  out.dfa_ms = ms_since(t);
  out.build_ms = median(build);
  out.precompute_ms = median(pre);
  return out;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string root = SGP_SOURCE_DIR;
  const std::string model = root + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  auto t0 = Clock::now();
  std::shared_ptr<const Vocabulary> vocab;
  std::string vocab_source;
  if (std::filesystem::exists(model)) {
    auto file = sgp::model::GgufFile::open(model);
    auto tok = sgp::model::Tokenizer::from_gguf(*file);
    t0 = Clock::now();
    vocab = Vocabulary::from_tokenizer(*tok);
    vocab_source = "tokenizer (GGUF)";
  } else {
    vocab = Vocabulary::from_hex_file(root + "/tests/data/constraint/smollm2_vocab.hex");
    vocab_source = "tests/data/constraint/smollm2_vocab.hex";
  }
  double vocab_ms = ms_since(t0);

  Json schema = fifty_field_schema(true);
  const std::string regex = json_schema_to_regex(schema);
  BuildTimes req = time_builds(schema, vocab);
  BuildTimes opt = time_builds(fifty_field_schema(false), vocab);
  auto automaton = json_constraint(schema, vocab);
  const int cached_reps = 1000;
  auto t = Clock::now();
  for (int i = 0; i < cached_reps; ++i) json_constraint(schema, vocab);
  double cached_ms = ms_since(t) / cached_reps;

  // Mask and transition speed over the states a generation visits.
  testing::ConstrainedDriver driver(*automaton, *vocab);
  std::vector<uint64_t> mask;
  int64_t mask_calls = 0, next_calls = 0;
  double mask_ns = 0, next_ns = 0;
  int sampled_off = 0, sampled_on = 0, jumps = 0, forced_tokens = 0, tokens_off = 0, tokens_on = 0;
  const int runs = 10;
  for (int seed = 1; seed <= runs; ++seed) {
    testing::DriveOptions o;
    o.seed = static_cast<uint64_t>(seed);
    o.soft_budget = 600;
    auto off = driver.run(o);
    o.jump_forward = true;
    auto on = driver.run(o);
    if (!off.accepted || !on.accepted) {
      std::fprintf(stderr, "generation did not finish: %s%s\n", off.problem.c_str(),
                   on.problem.c_str());
      return 1;
    }
    sampled_off += off.sampled, tokens_off += static_cast<int>(off.tokens.size());
    sampled_on += on.sampled, tokens_on += static_cast<int>(on.tokens.size());
    jumps += on.jumps, forced_tokens += on.forced_tokens;
    int32_t s = automaton->start_state();
    auto tm = Clock::now();
    for (int32_t tok : off.tokens) {
      automaton->allowed_tokens(s, mask);
      s = automaton->next_state(s, tok);
    }
    double both = std::chrono::duration<double, std::nano>(Clock::now() - tm).count();
    s = automaton->start_state();
    tm = Clock::now();
    for (int32_t tok : off.tokens) s = automaton->next_state(s, tok);
    double only_next = std::chrono::duration<double, std::nano>(Clock::now() - tm).count();
    next_ns += only_next, mask_ns += both - only_next;
    mask_calls += static_cast<int64_t>(off.tokens.size()),
        next_calls += static_cast<int64_t>(off.tokens.size());
  }

  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  Json out = {{"bench", "constraint_build"},
              {"date", date},
              {"cpu", cpu_name()},
              {"vocab_source", vocab_source},
              {"vocab_size", vocab->size()},
              {"vocab_ms", vocab_ms},
              {"schema_fields", 50},
              {"regex_bytes", regex.size()},
              {"threads", std::thread::hardware_concurrency()},
              {"required_fields",
               {{"dfa_states", req.states},
                {"dfa_build_ms", req.dfa_ms},
                {"rows_on_first_use", req.lazy},
                {"first_build_ms_median_of_5", req.build_ms},
                {"all_rows_precompute_ms_median_of_5", req.precompute_ms},
                {"memory_mb_all_rows", req.memory_mb}}},
              {"optional_fields",
               {{"dfa_states", opt.states},
                {"dfa_build_ms", opt.dfa_ms},
                {"rows_on_first_use", opt.lazy},
                {"first_build_ms_median_of_5", opt.build_ms},
                {"all_rows_precompute_ms_median_of_5", opt.precompute_ms},
                {"memory_mb_all_rows", opt.memory_mb}}},
              {"cached_build_ms", cached_ms},
              {"allowed_tokens_ns_per_call", mask_ns / mask_calls},
              {"next_state_ns_per_call", next_ns / next_calls},
              {"simulated_generations", runs},
              {"sampling_steps_without_jump_forward", sampled_off},
              {"sampling_steps_with_jump_forward", sampled_on},
              {"jump_forward_jumps", jumps},
              {"jump_forward_forced_tokens", forced_tokens},
              {"tokens_without_jump_forward", tokens_off},
              {"tokens_with_jump_forward", tokens_on},
              {"note",
               "generations use the random constrained driver (no model): uniform tokens, forced "
               "text tokenized "
               "greedily; steps = forward passes a decode loop would run"}};
  std::string text = out.dump(2);
  std::printf("%s\n", text.c_str());
  std::string path =
      argc > 1 ? argv[1] : root + "/bench/results/" + date + "-cpu-constraint-build.json";
  std::ofstream(path) << text << "\n";
  std::fprintf(stderr, "wrote %s\n", path.c_str());
  return 0;
}
