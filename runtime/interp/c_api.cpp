// The C embedding API (include/sgp/sgp.h): opaque handles over the C++ API; no exception escapes.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "sgp/sgp.h"
#include "sgp/sgp.hpp"

struct sgp_model {
  std::shared_ptr<sgp::Model> model;
};
struct sgp_program {
  sgp::Program program;
};
struct sgp_runtime {
  std::unique_ptr<sgp::Runtime> runtime;
  std::mutex mu;
  std::set<std::shared_ptr<sgp::Cancellation::Impl>> live;
};

namespace {

char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

void set_error(char** error, const std::string& msg) {
  if (error) *error = dup(msg);
}

template <class F>
auto guarded(char** error, F&& f) -> decltype(f()) {
  if (error) *error = nullptr;
  try {
    return f();
  } catch (const std::exception& e) {
    set_error(error, e.what());
  } catch (...) {
    set_error(error, "unknown error");
  }
  return {};
}

}  // namespace

extern "C" {

sgp_model* sgp_model_load(const char* path, int threads, char** error) {
  return guarded(error, [&]() -> sgp_model* {
    sgp::ModelOptions o;
    o.path = path ? path : "";
    o.threads = threads;
    return new sgp_model{sgp::Model::load(o)};
  });
}

void sgp_model_free(sgp_model* model) {
  delete model;
}

sgp_program* sgp_program_compile_file(const char* path, char** error) {
  return guarded(error, [&]() -> sgp_program* {
    if (!path) throw sgp::Error("no path");
    return new sgp_program{sgp::Program::compile_file(path)};
  });
}

sgp_program* sgp_program_compile_source(const char* name, const char* text, char** error) {
  return guarded(error, [&]() -> sgp_program* {
    if (!text) throw sgp::Error("no source text");
    return new sgp_program{sgp::Program::compile_source(name ? name : "<source>", text)};
  });
}

void sgp_program_free(sgp_program* program) {
  delete program;
}

sgp_runtime* sgp_runtime_new(sgp_model* model, char** error) {
  return guarded(error, [&]() -> sgp_runtime* {
    if (!model) throw sgp::Error("no model");
    auto* rt = new sgp_runtime;
    rt->runtime = std::make_unique<sgp::Runtime>(model->model);
    return rt;
  });
}

void sgp_runtime_free(sgp_runtime* runtime) {
  delete runtime;
}

int sgp_runtime_bind(sgp_runtime* runtime, const char* name, sgp_host_fn fn, void* user) {
  if (!runtime || !name || !fn) return 1;
  runtime->runtime->bind(name, [fn, user](const sgp::Json& args) -> sgp::Json {
    char* err = nullptr;
    char* out = fn(args.dump().c_str(), user, &err);
    if (!out) {
      std::string msg = err ? err : "host function failed";
      std::free(err);
      throw sgp::Error(msg);
    }
    std::string text(out);
    std::free(out);
    auto j = sgp::Json::parse(text, nullptr, false);
    if (j.is_discarded()) throw sgp::Error("host function returned invalid JSON");
    return j;
  });
  return 0;
}

char* sgp_run(sgp_runtime* runtime, const sgp_program* program, const char* args_json,
              sgp_text_fn on_text, void* user, char** error) {
  return guarded(error, [&]() -> char* {
    if (!runtime || !program) throw sgp::Error("sgp_run: null runtime or program");
    sgp::Json args = sgp::Json::object();
    if (args_json && *args_json) {
      args = sgp::Json::parse(args_json, nullptr, false);
      if (args.is_discarded()) throw sgp::Error("sgp_run: arguments are not valid JSON");
    }
    sgp::RunOptions opts;
    if (on_text)
      opts.on_text = [on_text, user](std::string_view t) { on_text(t.data(), t.size(), user); };
    {
      std::lock_guard<std::mutex> lock(runtime->mu);
      runtime->live.insert(opts.cancel.impl);
    }
    struct Untrack {
      sgp_runtime* rt;
      std::shared_ptr<sgp::Cancellation::Impl> c;
      ~Untrack() {
        std::lock_guard<std::mutex> lock(rt->mu);
        rt->live.erase(c);
      }
    } untrack{runtime, opts.cancel.impl};
    sgp::Json result = runtime->runtime->run(program->program, args, opts);
    return dup(result.dump());
  });
}

void sgp_runtime_cancel(sgp_runtime* runtime) {
  if (!runtime) return;
  std::lock_guard<std::mutex> lock(runtime->mu);
  for (const auto& c : runtime->live) {
    sgp::Cancellation x;
    x.impl = c;
    x.cancel();
  }
}

void sgp_free(void* p) {
  std::free(p);
}

}  // extern "C"
