// C2 at engine level: 8 score requests sharing a 600-token few-shot preamble, 4 continuations
// each, submitted together; wall time with the radix cache on vs off, medians of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/backend.h"
#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

using namespace sgp;

namespace {

std::string shell(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  size_t s = out.find_first_not_of(' ');
  return s == std::string::npos ? "" : out.substr(s);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Run {
  double seconds = 0;
  engine::EngineStats stats;
};

// Few-shot preamble of exactly n tokens: capital-city questions with their answers.
std::vector<int32_t> preamble(const model::Tokenizer& tok, int n) {
  const char* pairs[][2] = {{"France", "Paris"}, {"Germany", "Berlin"}, {"Italy", "Rome"},
                            {"Spain", "Madrid"}, {"Japan", "Tokyo"},    {"Canada", "Ottawa"},
                            {"Egypt", "Cairo"},  {"Kenya", "Nairobi"},  {"Peru", "Lima"},
                            {"Norway", "Oslo"},  {"Chile", "Santiago"}, {"Greece", "Athens"}};
  std::string text = "Answer each question with the name of a city.\n\n";
  std::vector<int32_t> ids;
  for (int round = 0; static_cast<int>(ids.size()) < n; ++round) {
    for (auto& p : pairs)
      text += std::string("Question: What is the capital of ") + p[0] + "?\nAnswer: " + p[1] +
              (round % 2 ? ".\n\n" : "\n\n");
    ids = tok.encode(text);
  }
  ids.resize(static_cast<size_t>(n));
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path =
      argc > 1 ? argv[1] : std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  if (!std::filesystem::exists(path)) {
    std::cerr << "model not found: " << path << " (run `make model`)\n";
    return 1;
  }
  auto file = model::GgufFile::open(path);
  std::shared_ptr<model::Tokenizer> tok = model::Tokenizer::from_gguf(*file);

  const int kPreamble = 600, kQuestions = 8;
  std::vector<int32_t> pre = preamble(*tok, kPreamble);
  const char* countries[] = {"Brazil", "Australia", "India", "Mexico",
                             "Sweden", "Turkey",    "Cuba",  "Nepal"};
  std::vector<std::string> choices = {" Brasilia", " Canberra", " New Delhi", " Mexico City"};
  std::vector<engine::ScoreRequest> requests;
  for (int q = 0; q < kQuestions; ++q) {
    engine::ScoreRequest r;
    r.prefix = pre;
    auto qs =
        tok->encode(std::string("Question: What is the capital of ") + countries[q] + "?\nAnswer:");
    r.prefix.insert(r.prefix.end(), qs.begin(), qs.end());
    for (const auto& c : choices) r.continuations.push_back(tok->encode(c));
    requests.push_back(r);
  }

  engine::EngineOptions base;
  base.kv_memory_bytes = 128u << 20;
  std::unique_ptr<engine::Engine> engines[2];
  for (int on = 0; on < 2; ++on) {
    engine::EngineOptions o = base;
    o.radix_cache = on == 1;
    engines[on] = std::make_unique<engine::Engine>(model::load_cpu_backend(path), tok, o);
  }

  std::vector<std::string> picks;
  auto run_once = [&](engine::Engine& e) {
    e.clear_cache();  // every run prefills the preamble at least once
    engine::EngineStats before = e.stats();
    std::vector<std::promise<engine::ScoreResult>> done(requests.size());
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < requests.size(); ++i) {
      auto r = requests[i];
      r.on_done = [p = &done[i]](engine::ScoreResult res) { p->set_value(std::move(res)); };
      e.submit(std::move(r));
    }
    picks.clear();
    for (auto& d : done) {
      auto res = d.get_future().get();
      if (!res.error.empty()) throw std::runtime_error(res.error);
      size_t best = 0;
      for (size_t c = 1; c < res.choices.size(); ++c)
        if (res.choices[c].sum > res.choices[best].sum) best = c;
      picks.push_back(choices[best]);
    }
    Run r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    engine::EngineStats after = e.stats();
    r.stats = after;
    r.stats.prefill_tokens = after.prefill_tokens - before.prefill_tokens;
    r.stats.cached_tokens = after.cached_tokens - before.cached_tokens;
    r.stats.forward_tokens = after.forward_tokens - before.forward_tokens;
    r.stats.steps = after.steps - before.steps;
    return r;
  };

  std::vector<double> t_on, t_off;
  Run last_on, last_off;
  std::vector<std::string> picks_on, picks_off;
  for (int i = 0; i < reps; ++i) {  // interleaved so drift hits both alike
    last_off = run_once(*engines[0]);
    picks_off = picks;
    t_off.push_back(last_off.seconds);
    last_on = run_once(*engines[1]);
    picks_on = picks;
    t_on.push_back(last_on.seconds);
  }
  double on = median(t_on), off = median(t_off);
  double ratio = off / on;

  std::printf(
      "C2 engine level: %d score requests, %d-token shared preamble, %zu continuations each\n",
      kQuestions, kPreamble, choices.size());
  std::printf("%-10s %10s %14s %14s %8s\n", "radix", "median s", "forward tok", "cached tok",
              "steps");
  std::printf("%-10s %10.3f %14llu %14llu %8llu\n", "off", off,
              (unsigned long long)last_off.stats.forward_tokens,
              (unsigned long long)last_off.stats.cached_tokens,
              (unsigned long long)last_off.stats.steps);
  std::printf("%-10s %10.3f %14llu %14llu %8llu\n", "on", on,
              (unsigned long long)last_on.stats.forward_tokens,
              (unsigned long long)last_on.stats.cached_tokens,
              (unsigned long long)last_on.stats.steps);
  std::printf("speed-up (off / on): %.2fx (target >= 3x); same choices: %s\n", ratio,
              picks_on == picks_off ? "yes" : "no");

  char date[16];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  nlohmann::json j;
  j["bench"] = "C2-engine";
  j["date"] = date;
  j["machine"] = {{"cpu", shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")},
                  {"cores", shell("nproc")}};
  j["commit"] = shell("git -C " SGP_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null");
  j["model"] = std::filesystem::path(path).filename().string();
  j["inputs"] = {{"requests", kQuestions},
                 {"preamble_tokens", kPreamble},
                 {"prefix_tokens", requests[0].prefix.size()},
                 {"continuations", choices.size()},
                 {"repetitions", reps},
                 {"kv_memory_bytes", base.kv_memory_bytes},
                 {"max_step_tokens", base.max_step_tokens}};
  j["radix_off"] = {{"seconds", t_off},
                    {"median_s", off},
                    {"forward_tokens", last_off.stats.forward_tokens},
                    {"prefill_tokens", last_off.stats.prefill_tokens},
                    {"cached_tokens", last_off.stats.cached_tokens},
                    {"steps", last_off.stats.steps}};
  j["radix_on"] = {{"seconds", t_on},
                   {"median_s", on},
                   {"forward_tokens", last_on.stats.forward_tokens},
                   {"prefill_tokens", last_on.stats.prefill_tokens},
                   {"cached_tokens", last_on.stats.cached_tokens},
                   {"steps", last_on.stats.steps}};
  j["speedup_off_over_on"] = ratio;
  j["target"] = 3.0;
  j["same_choices"] = picks_on == picks_off;
  j["choices_picked"] = picks_on;
  std::string out = std::string(SGP_SOURCE_DIR) + "/bench/results/" + date + "-cpu-c2-engine.json";
  std::ofstream(out) << j.dump(2) << "\n";
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
