// Jump-forward benchmark: N requests generate JSON for an 8-field schema on SmolLM2, with
// jump-forward on and off in the same run; forward passes, tokens, tokens/s and wall time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "constraint/constraint_factory.h"
#include "constraint/vocabulary.h"
#include "engine/engine.h"
#include "model/backend.h"
#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

using namespace sgp;

namespace {

// The CPU model from /proc/cpuinfo and the commit, for the result file.
std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string commit() {
  char buf[64] = {0};
  if (FILE* p = popen("git -C " SGP_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", "r")) {
    if (!fgets(buf, sizeof buf, p)) buf[0] = 0;
    pclose(p);
  }
  std::string c(buf);
  if (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "employee_full_name": {"type": "string", "maxLength": 24},
    "employee_age_in_years": {"type": "integer"},
    "department_name": {"type": "string", "enum": ["engineering", "marketing", "sales", "finance"]},
    "is_currently_employed": {"type": "boolean"},
    "office_city_location": {"type": "string", "maxLength": 16},
    "years_of_experience": {"type": "integer"},
    "preferred_contact_method": {"type": "string", "enum": ["email", "phone", "chat"]},
    "has_management_role": {"type": "boolean"}
  },
  "required": ["employee_full_name", "employee_age_in_years", "department_name",
               "is_currently_employed", "office_city_location", "years_of_experience",
               "preferred_contact_method", "has_management_role"]
})";

const char* kPeople[] = {"a software engineer from Berlin",   "a sales manager in Tokyo",
                         "a junior accountant in Paris",      "a marketing lead from Austin",
                         "a retired engineer from Oslo",      "a new finance analyst in Lima",
                         "a support agent working in Dublin", "a senior designer from Seoul"};

struct Outcome {
  double seconds = 0;
  engine::EngineStats stats;
  uint64_t output_tokens = 0;
  int valid = 0;
  std::vector<std::string> texts;
};

bool valid_record(const std::string& text, const nlohmann::ordered_json& schema) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != schema["properties"].size()) return false;
  for (const auto& [key, prop] : schema["properties"].items()) {
    if (!j.contains(key)) return false;
    const auto& v = j[key];
    std::string type = prop["type"];
    if (type == "string" && !v.is_string()) return false;
    if (type == "integer" && !v.is_number_integer()) return false;
    if (type == "boolean" && !v.is_boolean()) return false;
    if (prop.contains("enum") &&
        std::find(prop["enum"].begin(), prop["enum"].end(), v) == prop["enum"].end())
      return false;
    if (prop.contains("maxLength") && v.get<std::string>().size() > prop["maxLength"].get<size_t>())
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  const int n = argc > 2 ? std::clamp(std::atoi(argv[2]), 1, 8) : 8;
  auto file = model::GgufFile::open(path);
  auto tok = model::Tokenizer::from_gguf(*file);
  auto schema = nlohmann::ordered_json::parse(kSchema);
  auto t_build = std::chrono::steady_clock::now();
  auto con = constraint::json_constraint(schema, constraint::Vocabulary::from_tokenizer(*tok));
  double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();

  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < n; ++i) {
    std::string text = std::string("<|im_start|>user\nDescribe ") + kPeople[i] +
                       " as a JSON record.<|im_end|>\n<|im_start|>assistant\n";
    std::vector<int32_t> ids;
    if (tok->add_bos() && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    auto rest = tok->encode(text);
    ids.insert(ids.end(), rest.begin(), rest.end());
    prompts.push_back(std::move(ids));
  }

  auto run = [&](bool jump_forward) {
    engine::EngineOptions o;
    o.kv_memory_bytes = 64u << 20;
    o.jump_forward = jump_forward;
    engine::Engine eng(model::load_cpu_backend(path), tok, o);
    std::vector<std::promise<engine::GenerateResult>> done(prompts.size());
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < prompts.size(); ++i) {
      engine::GenerateRequest r;
      r.prompt = prompts[i];
      r.sampling.temperature = 0.0f;  // greedy
      r.sampling.max_tokens = 256;
      r.sampling.constraint = con;
      r.on_done = [p = &done[i]](engine::GenerateResult res) { p->set_value(std::move(res)); };
      eng.submit(std::move(r));
    }
    Outcome out;
    for (auto& d : done) {
      auto r = d.get_future().get();
      out.output_tokens += r.tokens.size();
      out.valid += valid_record(r.text, schema);
      out.texts.push_back(r.text);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.stats = eng.stats();
    return out;
  };

  Outcome off = run(false);
  Outcome on = run(true);

  auto report = [&](const Outcome& o) {
    return nlohmann::json{{"seconds", o.seconds},
                          {"steps", o.stats.steps},
                          {"forward_tokens", o.stats.forward_tokens},
                          {"prefill_tokens", o.stats.prefill_tokens},
                          {"decode_tokens", o.stats.decode_tokens},
                          {"forced_tokens", o.stats.forced_tokens},
                          {"output_tokens", o.output_tokens},
                          {"output_tokens_per_s", o.output_tokens / o.seconds},
                          {"valid_records", o.valid},
                          {"sample_output", o.texts.front()}};
  };
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  for (const auto* o : {&off, &on})
    std::printf(
        "%s: %.2fs, %llu steps, %llu forward tokens, %llu output tokens (%llu forced), "
        "%.1f tok/s, %d/%d valid\n",
        o == &off ? "jump-forward off" : "jump-forward on ", o->seconds,
        (unsigned long long)o->stats.steps, (unsigned long long)o->stats.forward_tokens,
        (unsigned long long)o->output_tokens, (unsigned long long)o->stats.forced_tokens,
        o->output_tokens / o->seconds, o->valid, n);
  std::printf("steps off/on %.2fx, wall off/on %.2fx\n",
              ratio(double(off.stats.steps), double(on.stats.steps)),
              ratio(off.seconds, on.seconds));
  std::printf("sample (on): %s\n", on.texts.front().c_str());

  char date[16];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  nlohmann::json j;
  j["bench"] = "jump-forward";
  j["date"] = date;
  j["machine"] = {
      {"cpu", cpu_name()},
      {"cores", std::thread::hardware_concurrency()},
      {"note", "shared with other jobs: compare ratios and counts, not absolute times"}};
  j["commit"] = commit();
  j["model"] = std::filesystem::path(path).filename().string();
  j["inputs"] = {{"requests", n},          {"fields", schema["properties"].size()},
                 {"sampling", "greedy"},   {"max_tokens", 256},
                 {"submitted", "at once"}, {"constraint_build_s", build_s}};
  j["jump_forward_off"] = report(off);
  j["jump_forward_on"] = report(on);
  j["steps_off_over_on"] = ratio(double(off.stats.steps), double(on.stats.steps));
  j["forward_tokens_off_over_on"] =
      ratio(double(off.stats.forward_tokens), double(on.stats.forward_tokens));
  j["wall_off_over_on"] = ratio(off.seconds, on.seconds);
  int same = 0;
  for (size_t i = 0; i < on.texts.size(); ++i) same += on.texts[i] == off.texts[i];
  // Greedy text may differ: the forced text is tokenized as the tokenizer would, not as the
  // masked model happens to spell it, so the model sees other tokens afterwards.
  j["same_text_on_and_off"] = same;
  std::string out =
      std::string(SGP_SOURCE_DIR) + "/bench/results/" + date + "-cpu-jump-forward.json";
  std::ofstream(out) << j.dump(2) << "\n";
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
