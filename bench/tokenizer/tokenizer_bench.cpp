// Tokenizer benchmark: load, cold and warm encode of a ~600-token prompt, decode; JSON out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "model/gguf_file.h"
#include "tokenizer/tokenizer.h"

using namespace sgp::model;
using Clock = std::chrono::steady_clock;

namespace {

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

// A few-shot style prompt: chat markup, prose, numbers, code, some non-ASCII.
std::string prompt() {
  std::string p =
      "<|im_start|>system\nYou are a careful assistant. Answer with one word.<|im_end|>\n";
  const char* shots[] = {
      "Review: The food arrived cold, the waiter ignored us for 45 minutes, and the bill was "
      "wrong twice. Sentiment: negative\n",
      "Review: Absolutely loved the crème brûlée — best dessert I've had in 2024! Sentiment: "
      "positive\n",
      "Review: It's fine. Nothing special, but the prices (about $12.50 a plate) are fair. "
      "Sentiment: neutral\n",
      "Review: def parse(x):\n    return [int(t) for t in x.split(',') if t.strip()]\n"
      "Works on 1,2,3 but fails on '4, ,5'. Sentiment: negative\n",
      "Review: 東京の店はとても良かった。Staff were friendly 🙂 and fast. "
      "Sentiment: "
      "positive\n",
  };
  p += "<|im_start|>user\n";
  for (int round = 0; round < 4; ++round)
    for (const char* s : shots) p += s;
  p += "Review: The soup was great but the bread was stale. Sentiment:<|im_end|>\n";
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = argc > 1 ? argv[1] : SGP_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  std::string out_path = argc > 2 ? argv[2] : SGP_SOURCE_DIR "/bench/results/tokenizer.json";
  try {
    auto file = GgufFile::open(model);
    auto t0 = Clock::now();
    auto tok = Tokenizer::from_gguf(*file);
    double load_us = us_since(t0);

    // Cold: an empty word cache. The median of a few fresh tokenizers, as one run can be
    // descheduled on a shared machine.
    std::string text = prompt();
    std::vector<int32_t> ids;
    std::vector<double> colds;
    for (int i = 0; i < 5; ++i) {
      auto fresh = Tokenizer::from_gguf(*file);
      t0 = Clock::now();
      ids = fresh->encode(text);
      colds.push_back(us_since(t0));
    }
    std::sort(colds.begin(), colds.end());
    double cold_us = colds[colds.size() / 2];

    const int reps = 2000;
    t0 = Clock::now();
    size_t sink = 0;
    for (int i = 0; i < reps; ++i) sink += tok->encode(text).size();
    double warm_us = us_since(t0) / reps;

    t0 = Clock::now();
    for (int i = 0; i < reps; ++i) sink += tok->decode(ids).size();
    double decode_us = us_since(t0) / reps;

    t0 = Clock::now();
    for (int i = 0; i < reps; ++i) {
      IncrementalDecoder dec(*tok);
      for (int32_t id : ids) sink += dec.push(id).size();
    }
    double stream_us = us_since(t0) / reps;

    // The machine may be shared: the 1-minute load average says how much the timings suffered.
    double load_avg = 0;
    std::ifstream("/proc/loadavg") >> load_avg;
    char json[1024];
    std::snprintf(json, sizeof json,
                  "{\n  \"bench\": \"tokenizer\",\n  \"model\": \"SmolLM2-135M-Instruct.Q4_1\",\n"
                  "  \"prompt_bytes\": %zu,\n  \"prompt_tokens\": %zu,\n  \"load_ms\": %.2f,\n"
                  "  \"encode_cold_us\": %.1f,\n  \"encode_warm_us\": %.1f,\n"
                  "  \"decode_us\": %.2f,\n  \"incremental_decode_us\": %.2f,\n"
                  "  \"load_average_1min\": %.2f,\n  \"sink\": %zu\n}\n",
                  text.size(), ids.size(), load_us / 1000, cold_us, warm_us, decode_us, stream_us,
                  load_avg, sink);
    std::fputs(json, stdout);
    std::ofstream(out_path) << json;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", e.what());
    return 1;
  }
}
