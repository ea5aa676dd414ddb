// The C++ embedding API (include/sgp/sgp.hpp) over the interpreter and the local engine.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "compiler/compile.h"
#include "interp/interpreter.h"
#include "sgp/sgp.hpp"

namespace sgp {

struct Model::Impl {
  std::shared_ptr<interp::LocalModelClient> client;
};

Model::~Model() = default;

std::shared_ptr<Model> Model::load(const ModelOptions& o) {
  interp::LoadOptions lo;
  lo.threads = o.threads;
  lo.kv_memory_bytes = o.kv_memory_bytes;
  lo.radix_cache = o.radix_cache;
  std::string path = o.path.empty() ? interp::default_model_path() : o.path;
  if (path.empty()) throw Error("no model path given and no default model found");
  auto m = std::make_shared<Model>();
  m->impl = std::make_shared<Impl>();
  m->impl->client = interp::load_local_model(path, lo);
  return m;
}

std::string Model::name() const {
  return impl->client->name();
}

struct Program::Impl {
  std::shared_ptr<const graph::Program> program;
};

static Program make_program(compiler::CompileResult r) {
  if (!r.ok()) throw Error(r.format_diagnostics());
  Program p;
  auto impl = std::make_shared<Program::Impl>();
  impl->program = std::make_shared<const graph::Program>(std::move(r.program));
  p.impl = impl;
  return p;
}

Program Program::compile_file(const std::string& path) {
  compiler::CompileOptions o;
  o.require_main = true;
  return make_program(compiler::compile_file(path, o));
}

Program Program::compile_source(const std::string& name, const std::string& text) {
  compiler::CompileOptions o;
  o.require_main = true;
  return make_program(compiler::compile_source(name, text, o));
}

struct Cancellation::Impl {
  std::shared_ptr<interp::CancelToken> token = std::make_shared<interp::CancelToken>();
};

Cancellation::Cancellation() : impl(std::make_shared<Impl>()) {}
void Cancellation::cancel() {
  impl->token->cancel();
}

struct Runtime::Impl {
  std::shared_ptr<Model> model;
  interp::asio::io_context io{1};
  interp::asio::executor_work_guard<interp::asio::io_context::executor_type> work{
      io.get_executor()};
  std::thread thread;
  std::mutex mu;
  interp::HostFunctions hosts;
  // The cancel tokens of the runs not yet ended: the destructor cancels them and waits.
  std::multiset<std::shared_ptr<interp::CancelToken>> live;

  interp::RunOptions convert(const RunOptions& o) {
    interp::RunOptions r;
    r.greedy = o.greedy;
    r.max_steps = o.max_steps;
    r.cancel = o.cancel.impl->token;
    if (o.on_text) r.on_text = [f = o.on_text](const std::string& s) { f(s); };
    if (o.on_print) r.on_print = [f = o.on_print](const std::string& s) { f(s); };
    return r;
  }

  std::shared_ptr<interp::Interpreter> interpreter(const Program& p) {
    if (!p.impl) throw Error("run: the program was not compiled");
    std::lock_guard<std::mutex> lock(mu);
    return std::make_shared<interp::Interpreter>(io.get_executor(), model->impl->client,
                                                 p.impl->program, hosts);
  }

  // Registers a run from its start to its end (the handle's destruction).
  std::shared_ptr<void> track(const std::shared_ptr<interp::CancelToken>& token) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = live.insert(token);
    return std::shared_ptr<void>(nullptr, [this, it](void*) {
      std::lock_guard<std::mutex> lock(mu);
      live.erase(it);
    });
  }
};

Runtime::Runtime(std::shared_ptr<Model> model) : impl_(std::make_unique<Impl>()) {
  if (!model || !model->impl) throw Error("Runtime needs a loaded model");
  impl_->model = std::move(model);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

// Every engine request and host call in flight holds work on the io_context (await_callback)
// and posts its result back to it. Stopping the io_context while one is out would let it post
// into a destroyed io_context later (the freed memory is often the next Runtime's, whose
// io thread then saw its work count drop to zero and left: the hang of a second Runtime). So
// the runs still going are cancelled and the io_context runs until nothing refers to it.
Runtime::~Runtime() {
  std::vector<std::shared_ptr<interp::CancelToken>> tokens;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    tokens.assign(impl_->live.begin(), impl_->live.end());
  }
  for (auto& t : tokens) t->cancel();
  impl_->work.reset();
  impl_->thread.join();
}

void Runtime::bind(const std::string& name, HostFunction fn) {
  auto wrapped = interp::make_sync_host_function([fn = std::move(fn)](const interp::List& args) {
    return interp::from_json(fn(interp::to_json(interp::Value(args))));
  });
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->hosts[name] = std::move(wrapped);
}

void Runtime::bind_async(const std::string& name, AsyncHostFunction fn) {
  interp::HostFunction wrapped = [fn = std::move(fn)](interp::List args, interp::HostDone done) {
    fn(interp::to_json(interp::Value(std::move(args))), [done](Json result, std::string error) {
      done(interp::HostResult{interp::from_json(result), std::move(error)});
    });
  };
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->hosts[name] = std::move(wrapped);
}

boost::asio::any_io_executor Runtime::executor() const {
  return impl_->io.get_executor();
}

static interp::Map args_map(const Json& args) {
  if (args.is_null()) return {};
  if (!args.is_object()) throw Error("run: arguments must be a JSON object");
  return interp::from_json(args).as_map();
}

boost::asio::awaitable<Json> Runtime::run_async(Program program, Json args, RunOptions options) {
  auto in = impl_->interpreter(program);
  auto tracked = impl_->track(options.cancel.impl->token);
  interp::Value v = co_await in->run_main(args_map(args), impl_->convert(options));
  co_return interp::to_json(v);
}

// ---- TextStream ----

// Filled on the runtime's thread (pieces, the end); read from coroutines on it or from other
// threads, hence the lock.
struct TextStream::Impl {
  explicit Impl(std::thread::id t) : runtime_thread(t) {}

  // Not the executor: the stream may outlive its Runtime (and the io_context with it).
  std::thread::id runtime_thread;
  std::shared_ptr<interp::CancelToken> cancel;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<TextPiece> pieces;
  bool ended = false;
  Json value;
  std::exception_ptr error;
  std::vector<std::function<void()>> waiters;  // coroutines waiting for a piece or the end

  template <class Change>
  void update(Change change) {
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard<std::mutex> lock(mu);
      change();
      wake.swap(waiters);
    }
    cv.notify_all();
    for (auto& w : wake) w();
  }

  bool ready() const { return !pieces.empty() || ended; }  // with mu held

  // Resumes when a piece arrives or the run ends (at once if either already happened).
  interp::asio::awaitable<void> changed() {
    auto coro_ex = co_await interp::asio::this_coro::executor;
    co_await interp::asio::async_initiate<decltype(interp::asio::use_awaitable), void()>(
        [this, coro_ex](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          std::function<void()> resume = [h, coro_ex] {
            interp::asio::post(coro_ex, [h] { (*h)(); });
          };
          std::unique_lock<std::mutex> lock(mu);
          if (ready()) {
            lock.unlock();
            resume();
          } else {
            waiters.push_back(std::move(resume));
          }
        },
        interp::asio::use_awaitable);
  }

  std::optional<TextPiece> pop() {  // with mu held and ready()
    if (pieces.empty()) return std::nullopt;
    TextPiece p = std::move(pieces.front());
    pieces.pop_front();
    return p;
  }

  Json outcome() {  // with mu held and ended
    if (error) std::rethrow_exception(error);
    return value;
  }

  void not_on_runtime_thread(const char* what) const {
    if (std::this_thread::get_id() == runtime_thread)
      throw Error(std::string("TextStream::") + what +
                  " called on the runtime's own thread (co_await the awaitable form)");
  }
};

interp::asio::awaitable<std::optional<TextPiece>> TextStream::next() {
  auto st = impl;  // the coroutine may outlive this handle
  while (true) {
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->ready()) co_return st->pop();
    }
    co_await st->changed();
  }
}

interp::asio::awaitable<Json> TextStream::result() {
  auto st = impl;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->ended) co_return st->outcome();
    }
    co_await st->changed();
  }
}

std::optional<TextPiece> TextStream::next_blocking() {
  impl->not_on_runtime_thread("next_blocking");
  std::unique_lock<std::mutex> lock(impl->mu);
  impl->cv.wait(lock, [this] { return impl->ready(); });
  return impl->pop();
}

Json TextStream::result_blocking() {
  impl->not_on_runtime_thread("result_blocking");
  std::unique_lock<std::mutex> lock(impl->mu);
  impl->cv.wait(lock, [this] { return impl->ended; });
  return impl->outcome();
}

void TextStream::cancel() {
  impl->cancel->cancel();
}

TextStream Runtime::stream(const Program& program, const Json& args, RunOptions options) {
  auto in = impl_->interpreter(program);
  interp::Map a = args_map(args);
  TextStream ts;
  ts.impl = std::make_shared<TextStream::Impl>(impl_->thread.get_id());
  auto st = ts.impl;
  st->cancel = options.cancel.impl->token;
  interp::RunOptions ro = impl_->convert(options);
  ro.on_gen_text = [st](const std::string& gen, const std::string& text) {
    st->update([&] { st->pieces.push_back({gen, text}); });
  };
  auto tracked = impl_->track(st->cancel);
  interp::asio::co_spawn(impl_->io, in->run_main(std::move(a), std::move(ro)),
                         [st, in, tracked](std::exception_ptr e, interp::Value v) {
                           Json j;
                           if (!e) {
                             try {
                               j = interp::to_json(v);
                             } catch (...) {
                               e = std::current_exception();
                             }
                           }
                           st->update([&] {
                             st->ended = true;
                             st->value = std::move(j);
                             st->error = e;
                           });
                         });
  return ts;
}

Json Runtime::run(const Program& program, const Json& args, RunOptions options) {
  if (impl_->io.get_executor().running_in_this_thread())
    throw Error("Runtime::run called on the runtime's own thread (use run_async)");
  auto in = impl_->interpreter(program);
  std::promise<Json> done;
  auto fut = done.get_future();
  interp::Map a = args_map(args);
  auto tracked = impl_->track(options.cancel.impl->token);
  interp::asio::co_spawn(impl_->io, in->run_main(std::move(a), impl_->convert(options)),
                         [&done, in, tracked](std::exception_ptr e, interp::Value v) {
                           if (e)
                             done.set_exception(e);
                           else
                             done.set_value(interp::to_json(v));
                         });
  return fut.get();
}

}  // namespace sgp
