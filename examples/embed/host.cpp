// sgp_embed_host: a host application using the C++ API — host functions (sync, async, one that
// throws), streaming, the awaitable run and cancellation. Prints a JSON report on stdout.
#include <cstdio>
#include <future>
#include <iostream>
// clang-format off
#include <sgp/sgp.hpp>  // first: it includes what Boost 1.74's awaitable.hpp forgets
#include <boost/asio/co_spawn.hpp>
// clang-format on
#include <thread>

static const char* kSource = R"(
extern fn weather(city)
extern fn slow_double(x)
extern fn explode(x)

fn main(city = "Lisbon", fail = false) {
  let w = weather(city)
  let d = slow_double(21)
  if fail { explode(city) }
  "Weather report for {city}: {w}. Summary:"
  gen s(max_tokens: 8, temperature: 0)
  return {"weather": w, "double": d, "summary": s}
}
)";

int main(int argc, char** argv) {
  sgp::Json report;
  try {
    sgp::ModelOptions mo;
    if (argc > 1) mo.path = argv[1];
    auto model = sgp::Model::load(mo);
    sgp::Runtime rt(model);
    sgp::Json calls = sgp::Json::array();
    rt.bind("weather", [&calls](const sgp::Json& args) {
      calls.push_back(args);
      return sgp::Json("sunny in " + args[0].get<std::string>());
    });
    rt.bind_async("slow_double", [](sgp::Json args, sgp::HostDone done) {
      std::thread([args, done] { done(args[0].get<int>() * 2, ""); }).detach();
    });
    rt.bind("explode",
            [](const sgp::Json&) -> sgp::Json { throw std::runtime_error("host exploded"); });
    auto program = sgp::Program::compile_source("embedded.sgp", kSource);

    // 1. sync run with streaming
    std::string streamed;
    sgp::RunOptions opts;
    opts.on_text = [&streamed](std::string_view t) { streamed += t; };
    report["result"] = rt.run(program, {{"city", "Porto"}}, opts);
    report["streamed"] = streamed;
    report["calls"] = calls;

    // 2. a host function that throws: a clean runtime error in the program
    try {
      rt.run(program, {{"fail", true}});
      report["throwing_host"] = "no error";
    } catch (const sgp::Error& e) {
      report["throwing_host"] = e.what();
    }

    // 3. the awaitable API, from a coroutine on the runtime's executor
    std::promise<sgp::Json> p;
    boost::asio::co_spawn(rt.executor(), rt.run_async(program, {{"city", "Oslo"}}),
                          [&p](std::exception_ptr e, sgp::Json j) {
                            if (e)
                              p.set_exception(e);
                            else
                              p.set_value(std::move(j));
                          });
    report["awaited"] = p.get_future().get();

    // 4. cancellation before the run starts generating
    sgp::RunOptions cancelled;
    cancelled.cancel.cancel();
    try {
      rt.run(program, {}, cancelled);
      report["cancel"] = "not cancelled";
    } catch (const sgp::Error& e) {
      report["cancel"] = e.what();
    }

    // 5. a compile error is an sgp::Error with the diagnostics
    try {
      sgp::Program::compile_source("bad.sgp", "fn main() { return nope }");
    } catch (const sgp::Error& e) {
      report["compile_error"] = e.what();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "host: %s\n", e.what());
    return 1;
  }
  std::cout << report.dump(2) << std::endl;
  return 0;
}
