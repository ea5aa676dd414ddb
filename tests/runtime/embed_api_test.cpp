// The C++ embedding API on the default model: the text stream (awaitable and blocking), cancel
// mid-gen, async and throwing host functions. Skips (with a message) when the model is absent.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
// clang-format off
#include <sgp/sgp.hpp>  // first: it includes what Boost 1.74's awaitable.hpp forgets
#include <boost/asio/co_spawn.hpp>
// clang-format on

namespace {

std::string model_path() {
  return std::string(SGP_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::shared_ptr<sgp::Model> model() {
  static std::shared_ptr<sgp::Model> m = [] {
    sgp::ModelOptions o;
    o.path = model_path();
    o.threads = 2;
    return sgp::Model::load(o);
  }();
  return m;
}

// Runs `body` as a coroutine on the runtime's executor and waits for what it returns.
template <class T>
T on_runtime(sgp::Runtime& rt, boost::asio::awaitable<T> body) {
  std::promise<T> p;
  boost::asio::co_spawn(rt.executor(), std::move(body), [&p](std::exception_ptr e, T v) {
    if (e)
      p.set_exception(e);
    else
      p.set_value(std::move(v));
  });
  return p.get_future().get();
}

const char* kTwoGens = R"(
fn main(topic = "fruits") {
  "A list of {topic}:\n1."
  gen first(max_tokens: 10, temperature: 0)
  "\n2."
  gen second(max_tokens: 10, temperature: 0)
  return [first, second]
}
)";

struct Collected {
  std::vector<sgp::TextPiece> pieces;
  sgp::Json result;
  bool nullopt_again = false;
};

}  // namespace

TEST_CASE("the text stream gives each gen's pieces in order, then the return value") {
  if (!std::filesystem::exists(model_path())) {
    MESSAGE("default model missing: run `make model`");
    return;
  }
  sgp::Runtime rt(model());
  auto program = sgp::Program::compile_source("two.sgp", kTwoGens);
  std::string via_callback;
  sgp::RunOptions opts;
  opts.on_text = [&via_callback](std::string_view t) { via_callback += t; };

  auto check = [&](const Collected& c) {
    REQUIRE(c.result.is_array());
    REQUIRE(c.result.size() == 2);
    std::string first, second;
    bool second_started = false;
    for (const auto& p : c.pieces) {
      REQUIRE((p.gen == "first" || p.gen == "second"));
      if (p.gen == "second") second_started = true;
      CHECK(!(second_started && p.gen == "first"));  // the gens ran one after the other
      (p.gen == "first" ? first : second) += p.text;
    }
    CHECK(c.pieces.size() > 2);  // streamed as produced, not one piece per gen
    CHECK(first == c.result[0].get<std::string>());
    CHECK(second == c.result[1].get<std::string>());
    CHECK(!first.empty());
    CHECK(c.nullopt_again);
  };

  SUBCASE("awaited on the runtime's executor") {
    sgp::TextStream ts = rt.stream(program, {{"topic", "fruits"}}, opts);
    Collected c = on_runtime(rt, [](sgp::TextStream ts) -> boost::asio::awaitable<Collected> {
      Collected c;
      while (auto p = co_await ts.next()) c.pieces.push_back(*p);
      c.nullopt_again = !(co_await ts.next());
      c.result = co_await ts.result();
      co_return c;
    }(ts));
    check(c);
    std::string all;
    for (const auto& p : c.pieces) all += p.text;
    CHECK(all == via_callback);  // on_text sees the same pieces
  }
  SUBCASE("read from another thread, blocking") {
    sgp::TextStream ts = rt.stream(program, {{"topic", "colours"}});
    Collected c;
    while (auto p = ts.next_blocking()) c.pieces.push_back(*p);
    c.nullopt_again = !ts.next_blocking();
    c.result = ts.result_blocking();
    check(c);
    // the same program run without a stream gives the same value (greedy)
    CHECK(rt.run(program, {{"topic", "colours"}}) == c.result);
  }
  SUBCASE("the blocking forms refuse the runtime's own thread") {
    sgp::TextStream ts = rt.stream(program);
    std::string err = on_runtime(rt, [](sgp::TextStream ts) -> boost::asio::awaitable<std::string> {
      try {
        ts.result_blocking();
      } catch (const sgp::Error& e) {
        co_return e.what();
      }
      co_return "no error";
    }(ts));
    CHECK(err.find("own thread") != std::string::npos);
    ts.result_blocking();
  }
}

TEST_CASE("cancel stops a running gen: the stream ends, the result is a cancelled error") {
  if (!std::filesystem::exists(model_path())) return;
  sgp::Runtime rt(model());
  auto program = sgp::Program::compile_source(
      "long.sgp",
      "fn main() {\n  \"Once upon a time\"\n"
      "  gen story(max_tokens: 2000, ignore_eos: true, temperature: 0)\n  return story\n}\n");
  sgp::TextStream ts = rt.stream(program);
  REQUIRE(ts.next_blocking().has_value());  // it is generating
  ts.cancel();
  size_t after = 0;
  while (ts.next_blocking()) ++after;  // ends (does not wait for 2000 tokens)
  CHECK(after < 1000);
  std::string err;
  try {
    ts.result_blocking();
  } catch (const sgp::Error& e) {
    err = e.what();
  }
  CHECK(err.find("cancelled") != std::string::npos);
  CHECK(err.find("long.sgp:3:") != std::string::npos);  // the gen's line in the trace

  // RunOptions::cancel from another thread, during an awaitable run
  sgp::RunOptions opts;
  std::atomic<bool> started{false};
  opts.on_text = [&started](std::string_view) { started = true; };
  std::thread canceller([&] {
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    opts.cancel.cancel();
  });
  std::string err2;
  try {
    on_runtime(rt, rt.run_async(program, sgp::Json::object(), opts));
  } catch (const sgp::Error& e) {
    err2 = e.what();
  }
  canceller.join();
  CHECK(err2.find("cancelled") != std::string::npos);

  // the runtime is still usable
  auto short_program = sgp::Program::compile_source(
      "short.sgp", "fn main() {\n  \"Hi\"\n  gen g(max_tokens: 2)\n  return 1\n}\n");
  CHECK(rt.run(short_program) == 1);
}

TEST_CASE("host functions: async ones complete from other threads; failures are clean errors") {
  if (!std::filesystem::exists(model_path())) return;
  sgp::Runtime rt(model());
  // Each call completes from its own thread, and only once three calls are in flight: a runtime
  // that waited for one host call before starting the next would see each call time out here.
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0, in_flight = 0, max_in_flight = 0;
  rt.bind_async("slow_double", [&](sgp::Json args, sgp::HostDone done) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      max_in_flight = std::max(max_in_flight, ++in_flight);
    }
    cv.notify_all();
    std::thread([&, args, done] {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return max_in_flight >= 3; });
        --in_flight;
      }
      if (args[0].get<int>() < 0)
        done(nullptr, "negative input");
      else
        done(args[0].get<int>() * 2, "");
    }).detach();
  });
  rt.bind("sync_fail", [](const sgp::Json&) -> sgp::Json { throw std::runtime_error("boom"); });
  auto program = sgp::Program::compile_source("hosts.sgp",
                                              "extern fn slow_double(x)\n"
                                              "extern fn sync_fail()\n"
                                              "fn main(n, fail = false) {\n"
                                              "  if fail {\n    sync_fail()\n  }\n"
                                              "  let parts = fork i in [n, n + 1, n + 2] {\n"
                                              "    yield slow_double(i)\n  }\n"
                                              "  return parts\n}\n");
  // eight runs at once, each with three concurrent async calls
  std::vector<sgp::TextStream> runs;
  for (int i = 0; i < 8; ++i) runs.push_back(rt.stream(program, {{"n", i * 10}}));
  for (int i = 0; i < 8; ++i) {
    sgp::Json want = {i * 20, i * 20 + 2, i * 20 + 4};
    CHECK(runs[i].result_blocking() == want);
  }
  CHECK(calls == 24);
  CHECK(max_in_flight >= 3);

  std::string async_err;
  try {
    rt.run(program, {{"n", -5}});
  } catch (const sgp::Error& e) {
    async_err = e.what();
  }
  CHECK(async_err.find("extern slow_double() failed: negative input") != std::string::npos);
  CHECK(async_err.find("hosts.sgp:8:") != std::string::npos);

  std::string sync_err;
  try {
    rt.run(program, {{"n", 1}, {"fail", true}});
  } catch (const sgp::Error& e) {
    sync_err = e.what();
  }
  CHECK(sync_err.find("extern sync_fail() failed: boom") != std::string::npos);
  CHECK(sync_err.find("hosts.sgp:5:") != std::string::npos);
  CHECK(rt.run(program, {{"n", 1}}) == sgp::Json({2, 4, 6}));  // the host is unharmed
}

TEST_CASE("Runtimes are destroyed and created again in one process, with runs in flight") {
  if (!std::filesystem::exists(model_path())) return;
  auto short_program = sgp::Program::compile_source(
      "short.sgp",
      "fn main() {\n  \"Hi\"\n  gen g(max_tokens: 2, temperature: 0)\n  return 1\n}\n");
  auto fork_program = sgp::Program::compile_source("fork.sgp",
                                                   "extern fn twice(x)\n"
                                                   "fn main() {\n"
                                                   "  \"Numbers:\"\n"
                                                   "  let r = fork i in [1, 2, 3] {\n"
                                                   "    \" {i}\"\n"
                                                   "    gen g(max_tokens: 2, temperature: 0)\n"
                                                   "    yield twice(i)\n"
                                                   "  }\n"
                                                   "  return r\n}\n");
  auto long_program = sgp::Program::compile_source(
      "long.sgp",
      "fn main() {\n  \"Once upon a time\"\n"
      "  gen story(max_tokens: 2000, ignore_eos: true, temperature: 0)\n  return story\n}\n");
  auto expect_cancelled = [](sgp::TextStream& ts) {
    while (ts.next_blocking()) {
    }
    std::string err;
    try {
      ts.result_blocking();
    } catch (const sgp::Error& e) {
      err = e.what();
    }
    CHECK(err.find("cancelled") != std::string::npos);
  };
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    std::optional<sgp::TextStream> left_running, cancelled_late;
    {
      sgp::Runtime rt(model());
      rt.bind("twice", [](const sgp::Json& a) { return sgp::Json(a[0].get<int>() * 2); });
      CHECK(rt.run(short_program) == 1);
      CHECK(rt.run(fork_program) == sgp::Json({2, 4, 6}));
      // A run cancelled mid-gen: its engine request may still be out when the Runtime goes
      // (every other round the Runtime is destroyed without waiting for it).
      sgp::TextStream cancelled = rt.stream(long_program);
      REQUIRE(cancelled.next_blocking().has_value());
      cancelled.cancel();
      if (i % 2 == 0)
        expect_cancelled(cancelled);
      else
        cancelled_late = cancelled;
      // A run still generating when the Runtime is destroyed: the destructor cancels it.
      left_running = rt.stream(long_program);
      REQUIRE(left_running->next_blocking().has_value());
    }
    expect_cancelled(*left_running);
    if (cancelled_late) expect_cancelled(*cancelled_late);
  }
  sgp::Runtime last(model());
  CHECK(last.run(short_program) == 1);
}
