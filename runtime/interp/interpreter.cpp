// Interpreter: node dispatch of the execution graph, one coroutine per program/branch/spawn.
#include "interp/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "compiler/builtins.h"
#include "constraint/constraint_factory.h"
#include "constraint/vocabulary.h"
#include "interp/asio.h"
#include "interp/async_event.h"
#include "interp/chat_templates.h"
#include "interp/expr_eval.h"
#include "interp/future.h"
#include "interp/runtime_error.h"

namespace sgp::interp {

using graph::Node;
using graph::NodeId;
using graph::NodeKind;

// ---- CancelToken -------------------------------------------------------------------------------

void CancelToken::cancel() {
  cancelled_ = true;
  std::shared_ptr<ModelClient> client;
  std::set<engine::RequestId> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    client = client_;
    live = live_;
  }
  if (client)
    for (auto id : live) client->cancel(id);
}

void CancelToken::attach(std::shared_ptr<ModelClient> client) {
  std::lock_guard<std::mutex> lock(mu_);
  client_ = std::move(client);
}

void CancelToken::track(engine::RequestId id) {
  std::shared_ptr<ModelClient> client;
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.insert(id);
    if (cancelled_.load()) client = client_;
  }
  if (client) client->cancel(id);
}

void CancelToken::untrack(engine::RequestId id) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(id);
}

// ---- Run and Frame -----------------------------------------------------------------------------

struct CallSite {
  graph::SourceLoc loc;
  const graph::Function* fn = nullptr;
};

struct Interpreter::Run {
  RunOptions opts;
  int64_t steps = 0;
  std::vector<Value>* globals = nullptr;
  size_t live_spawns = 0;
  std::unique_ptr<AsyncEvent> spawns_done;
  std::vector<std::shared_ptr<Future>> futures;
};

struct Interpreter::Frame {
  const graph::Function* fn = nullptr;
  std::vector<Value> slots;
  PromptState* state = nullptr;
  std::unique_ptr<PromptState> own_state;  // fork branches and spawns
  std::vector<CallSite> callers;           // outermost first
  int depth = 0;
  Value ret;
};

// The node executor for one run: everything here runs on the interpreter's executor.
struct Exec {
  Interpreter& in;
  Interpreter::Run& run;

  using Frame = Interpreter::Frame;

  const graph::Program& prog() const { return in.program(); }

  std::vector<TraceFrame> trace(const Frame& f, graph::SourceLoc loc) const {
    std::vector<TraceFrame> out;
    auto add = [&](graph::SourceLoc l, const graph::Function* fn) {
      TraceFrame t;
      t.file = l.file >= 0 && l.file < static_cast<int>(prog().files.size()) ? prog().files[l.file]
                                                                             : "?";
      t.line = l.line;
      t.col = l.col;
      t.function = fn ? fn->name : "";
      out.push_back(std::move(t));
    };
    add(loc, f.fn);
    for (auto it = f.callers.rbegin(); it != f.callers.rend(); ++it) add(it->loc, it->fn);
    return out;
  }

  EvalEnv env(Frame& f) {
    EvalEnv e;
    e.slots = &f.slots;
    e.globals = run.globals;
    e.const_value = [this](int32_t slot) -> const Value& { return in.const_value(slot); };
    e.state = f.state;
    e.print = [this](const std::string& s) {
      if (run.opts.on_print)
        run.opts.on_print(s);
      else
        std::fwrite(s.data(), 1, s.size(), stdout), std::fflush(stdout);
    };
    return e;
  }

  Value ev(const graph::Expr& e, Frame& f) {
    EvalEnv en = env(f);
    return eval(e, en);
  }

  // ---- futures ----

  asio::awaitable<Value> resolve(Value v) {
    if (v.is_future()) {
      std::shared_ptr<Future> fut = v.as_future();
      fut->awaited = true;
      co_await fut->done.wait();
      if (fut->error) std::rethrow_exception(fut->error);
      co_return co_await resolve(fut->value);
    }
    if (v.is_list()) {
      List& l = v.mut_list();
      for (Value& x : l)
        if (x.contains_future()) x = co_await resolve(x);
    } else if (v.is_map()) {
      Map& m = v.mut_map();
      for (const auto& kv : m.items())
        if (kv.second.contains_future()) {
          Value* slot = m.find(kv.first);
          *slot = co_await resolve(*slot);
        }
    }
    co_return v;
  }

  asio::awaitable<void> resolve_reads(Frame& f, const Node& n) {
    for (int32_t s : n.reads)
      if (s >= 0 && static_cast<size_t>(s) < f.slots.size() && f.slots[s].contains_future())
        f.slots[s] = co_await resolve(f.slots[s]);
    if (run.globals)
      for (Value& g : *run.globals)
        if (g.contains_future()) g = co_await resolve(g);
  }

  // ---- state ----

  void append(PromptState& st, const std::string& text, bool special) {
    in.append_text(st, text, special);
  }

  void role_begin(PromptState& st, const std::string& role) {
    const graph::Template& t = in.template_for(st);
    auto it = t.roles.find(role);
    if (it == t.roles.end())
      throw Error("chat template '" + t.name + "' has no role '" + role + "'");
    if (!t.bos.empty() && st.tokens.empty()) append(st, t.bos, true);
    append(st, it->second.prefix, true);
    if (role == "assistant" && !t.generation_prefix.empty()) append(st, t.generation_prefix, true);
    st.roles.push_back(role);
  }

  void role_end(PromptState& st, const std::string& role) {
    const graph::Template& t = in.template_for(st);
    auto it = t.roles.find(role);
    if (it == t.roles.end())
      throw Error("chat template '" + t.name + "' has no role '" + role + "'");
    append(st, it->second.suffix, true);
    if (!st.roles.empty()) st.roles.pop_back();
  }

  // State operations a fork may hoist into its shared prefix.
  void state_op(Frame& f, const Node& n, PromptState& st) {
    switch (n.kind) {
      case NodeKind::Append:
        append(st, to_display(ev(n.expr, f)), false);
        break;
      case NodeKind::RoleBegin:
        role_begin(st, n.name);
        break;
      case NodeKind::RoleEnd:
        role_end(st, n.name);
        break;
      default:
        break;
    }
  }

  // ---- assignment ----

  void assign(Frame& f, const graph::LValue& lv, Value v) {
    if (lv.slot < 0) return;
    std::vector<Value>* vec = lv.global ? run.globals : &f.slots;
    if (!vec || static_cast<size_t>(lv.slot) >= vec->size())
      throw Error("internal: bad assignment slot");
    std::vector<Value> keys;
    for (const auto& p : lv.path) keys.push_back(ev(p, f));
    Value* cur = &(*vec)[lv.slot];
    for (const Value& key : keys) {
      if (cur->is_list()) {
        List& l = cur->mut_list();
        if (!key.is_int())
          throw Error(std::string("list index must be an int, got ") + type_name(key));
        int64_t i = key.as_int() < 0 ? key.as_int() + static_cast<int64_t>(l.size()) : key.as_int();
        if (i < 0 || i >= static_cast<int64_t>(l.size()))
          throw Error("list index " + std::to_string(key.as_int()) + " out of range (length " +
                      std::to_string(l.size()) + ")");
        cur = &l[static_cast<size_t>(i)];
      } else if (cur->is_map()) {
        cur = &cur->mut_map()[to_display(key)];
      } else {
        throw Error(std::string("cannot assign into a ") + type_name(*cur));
      }
    }
    *cur = std::move(v);
  }

  // ---- model requests ----

  std::vector<int32_t> prompt_of(const PromptState& st) {
    if (!st.tokens.empty()) return st.tokens;
    int32_t bos = in.client().bos_id();
    if (bos < 0) throw Error("gen/select on an empty state (append some text first)");
    return {bos};
  }

  // `gen_name`: the gen's bound name, for RunOptions::on_gen_text.
  asio::awaitable<engine::GenerateResult> generate(engine::GenerateRequest req, const char* kind,
                                                   const std::string& gen_name = "") {
    auto ex = in.executor();
    auto stream = run.opts.on_text;
    auto named = run.opts.on_gen_text;
    if (stream || named)
      req.on_text = [ex, stream, named, gen_name](const std::string& delta) {
        asio::post(ex, [stream, named, gen_name, delta] {
          if (stream) stream(delta);
          if (named) named(gen_name, delta);
        });
      };
    double t0 = run.opts.trace ? run.opts.trace->now() : 0;
    size_t prompt_len = req.prompt.size();
    engine::RequestId id = 0;
    ModelClient& client = in.client();
    auto cancel = run.opts.cancel;
    engine::GenerateResult r = co_await await_callback<engine::GenerateResult>([&](auto cb) {
      req.on_done = cb;
      id = client.generate(std::move(req));
      if (cancel) cancel->track(id);
    });
    if (cancel) cancel->untrack(id);
    if (run.opts.trace) {
      nlohmann::ordered_json ev = {{"type", kind},
                                   {"id", id},
                                   {"run", run.opts.label},
                                   {"submitted", t0},
                                   {"finished", run.opts.trace->now()},
                                   {"prompt_tokens", prompt_len},
                                   {"cached_tokens", r.cached_tokens},
                                   {"output_tokens", r.tokens.size()},
                                   {"finish", engine::finish_reason_name(r.finish)}};
      ev["seconds"] = ev["finished"].get<double>() - t0;
      if (!r.error.empty()) ev["error"] = r.error;
      run.opts.trace->write(ev);
    }
    if (r.finish == engine::FinishReason::Cancelled || (cancel && cancel->cancelled()))
      throw Error("cancelled");
    if (r.finish == engine::FinishReason::Error)
      throw Error(std::string(kind) + " failed: " + r.error);
    co_return r;
  }

  asio::awaitable<engine::ScoreResult> score(engine::ScoreRequest req) {
    double t0 = run.opts.trace ? run.opts.trace->now() : 0;
    size_t prefix_len = req.prefix.size(), n_choices = req.continuations.size();
    engine::RequestId id = 0;
    ModelClient& client = in.client();
    auto cancel = run.opts.cancel;
    engine::ScoreResult r = co_await await_callback<engine::ScoreResult>([&](auto cb) {
      req.on_done = cb;
      id = client.score(std::move(req));
      if (cancel) cancel->track(id);
    });
    if (cancel) cancel->untrack(id);
    if (run.opts.trace) {
      nlohmann::ordered_json ev = {{"type", "score"},
                                   {"id", id},
                                   {"run", run.opts.label},
                                   {"submitted", t0},
                                   {"finished", run.opts.trace->now()},
                                   {"prefix_tokens", prefix_len},
                                   {"choices", n_choices}};
      ev["seconds"] = ev["finished"].get<double>() - t0;
      if (!r.error.empty()) ev["error"] = r.error;
      run.opts.trace->write(ev);
    }
    if (cancel && cancel->cancelled()) throw Error("cancelled");
    if (!r.error.empty()) throw Error("select failed: " + r.error);
    if (r.choices.size() != n_choices) throw Error("select failed: wrong number of scores");
    co_return r;
  }

  asio::awaitable<void> prefill(PromptState& st) {
    if (st.tokens.empty() || st.tokens.size() <= st.cached) co_return;
    engine::GenerateRequest req;
    req.prompt = st.tokens;
    // The engine computes the prompt's KV and keeps it in the radix cache; the one sampled
    // token is discarded (max_tokens 0 finishes without running the prompt).
    req.sampling.max_tokens = 1;
    req.sampling.temperature = 0;
    co_await generate(std::move(req), "prefill");
    st.cached = st.tokens.size();
  }

  // ---- gen / select options ----

  static float num(const Value& v, const std::string& key) {
    if (!v.is_number()) throw Error("option '" + key + "' must be a number, got " + type_name(v));
    return static_cast<float>(v.as_number());
  }
  static int integer(const Value& v, const std::string& key, int64_t lo, int64_t hi) {
    if (!v.is_int()) throw Error("option '" + key + "' must be an int, got " + type_name(v));
    if (v.as_int() < lo || v.as_int() > hi)
      throw Error("option '" + key + "' out of range: " + std::to_string(v.as_int()));
    return static_cast<int>(v.as_int());
  }
  static std::vector<std::string> strings(const Value& v, const std::string& key) {
    std::vector<std::string> out;
    if (v.is_str()) return {v.as_str()};
    if (v.is_list()) {
      for (const Value& x : v.as_list()) {
        if (!x.is_str()) throw Error("option '" + key + "' must hold strings");
        out.push_back(x.as_str());
      }
      return out;
    }
    throw Error("option '" + key + "' must be a string or a list of strings");
  }

  engine::SamplingParams sampling(Frame& f, const Node& n, const PromptState& st) {
    engine::SamplingParams sp;
    if (run.opts.seed) sp.seed = run.opts.seed;
    for (const graph::Option& o : n.options) {
      Value v = ev(o.value, f);
      const std::string& k = o.key;
      if (v.is_null()) continue;
      if (k == "max_tokens")
        sp.max_tokens = integer(v, k, 0, 1 << 20);
      else if (k == "min_tokens")
        sp.min_tokens = integer(v, k, 0, 1 << 20);
      else if (k == "stop")
        sp.stop = strings(v, k);
      else if (k == "stop_token_ids") {
        if (!v.is_list()) throw Error("option 'stop_token_ids' must be a list of ints");
        for (const Value& x : v.as_list()) sp.stop_token_ids.push_back(integer(x, k, 0, INT32_MAX));
      } else if (k == "temperature")
        sp.temperature = num(v, k);
      else if (k == "top_p")
        sp.top_p = num(v, k);
      else if (k == "top_k")
        sp.top_k = integer(v, k, 0, INT32_MAX);
      else if (k == "min_p")
        sp.min_p = num(v, k);
      else if (k == "frequency_penalty")
        sp.frequency_penalty = num(v, k);
      else if (k == "presence_penalty")
        sp.presence_penalty = num(v, k);
      else if (k == "repetition_penalty")
        sp.repetition_penalty = num(v, k);
      else if (k == "seed")
        sp.seed = static_cast<uint64_t>(integer(v, k, INT32_MIN, INT32_MAX));
      else if (k == "ignore_eos")
        sp.ignore_eos = v.truthy();
      else if (k == "logprobs")
        sp.logprobs = integer(v, k, 0, 20);
      else if (k == "regex") {
        if (!v.is_str()) throw Error("option 'regex' must be a string");
        sp.constraint_spec = {engine::ConstraintSpec::Kind::Regex, v.as_str(), {}};
      } else if (k == "json") {
        sp.constraint_spec = {engine::ConstraintSpec::Kind::Json, to_json(v).dump(), {}};
      } else if (k == "choices") {
        sp.constraint_spec = {engine::ConstraintSpec::Kind::Choices, "", strings(v, k)};
      }
    }
    // Without the model's tokenizer (a remote client) the spec travels instead of an automaton.
    if (auto vocab = in.vocabulary()) {
      const engine::ConstraintSpec& cs = sp.constraint_spec;
      if (cs.kind == engine::ConstraintSpec::Kind::Regex)
        sp.constraint = constraint::regex_constraint(cs.text, vocab);
      else if (cs.kind == engine::ConstraintSpec::Kind::Json)
        sp.constraint = constraint::json_constraint(std::string_view(cs.text), vocab);
      else if (cs.kind == engine::ConstraintSpec::Kind::Choices)
        sp.constraint = constraint::choices_constraint(cs.choices, vocab);
    }
    if (run.opts.greedy) sp.temperature = 0;
    if (!st.roles.empty() && st.roles.back() == "assistant")
      for (const std::string& s : in.template_for(st).stop)
        if (std::find(sp.stop.begin(), sp.stop.end(), s) == sp.stop.end()) sp.stop.push_back(s);
    return sp;
  }

  // ---- nodes ----

  asio::awaitable<void> exec_gen(Frame& f, const Node& n) {
    PromptState& st = *f.state;
    engine::GenerateRequest req;
    req.sampling = sampling(f, n, st);
    req.prompt = prompt_of(st);
    bool added_bos = st.tokens.empty();
    engine::GenerateResult r = co_await generate(std::move(req), "gen", n.name);
    if (added_bos) st.tokens.push_back(in.client().bos_id());
    st.tokens.insert(st.tokens.end(), r.tokens.begin(), r.tokens.end());
    st.text += r.text;
    st.cached = st.tokens.size();
    assign(f, n.target, r.text);
  }

  asio::awaitable<void> exec_select(Frame& f, const Node& n) {
    PromptState& st = *f.state;
    Value choices = ev(n.expr, f);
    if (!choices.is_list() || choices.as_list().empty())
      throw Error("select needs a non-empty list of strings");
    std::string method = "normalized";
    for (const graph::Option& o : n.options)
      if (o.key == "method") {
        Value m = ev(o.value, f);
        if (!m.is_str()) throw Error("option 'method' must be a string");
        method = m.as_str();
      }
    if (method != "normalized" && method != "greedy" && method != "unconditional")
      throw Error("unknown select method '" + method + "' (normalized, greedy, unconditional)");
    engine::ScoreRequest req;
    req.prefix = prompt_of(st);
    std::vector<std::string> texts;
    for (const Value& c : choices.as_list()) {
      if (!c.is_str())
        throw Error(std::string("select choices must be strings, got ") + type_name(c));
      auto toks = in.client().tokenize(c.as_str(), false);
      if (toks.empty()) throw Error("select choice is empty");
      texts.push_back(c.as_str());
      req.continuations.push_back(std::move(toks));
    }
    auto conts = req.continuations;
    bool added_bos = st.tokens.empty();
    engine::ScoreResult r = co_await score(std::move(req));
    std::vector<double> scores(texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
      scores[i] = method == "greedy" ? r.choices[i].sum
                                     : r.choices[i].sum / static_cast<double>(conts[i].size());
    size_t best = 0;
    if (method == "unconditional") {
      engine::ScoreRequest base;
      int32_t bos = in.client().bos_id();
      base.prefix = bos >= 0 ? std::vector<int32_t>{bos} : in.client().tokenize("\n", false);
      base.continuations = conts;
      engine::ScoreResult u = co_await score(std::move(base));
      for (size_t i = 0; i < texts.size(); ++i)
        scores[i] = (r.choices[i].sum - u.choices[i].sum) / static_cast<double>(conts[i].size());
    }
    if (method == "greedy") {
      // Token by token, keep the choices whose token is the likeliest at that position (what
      // greedy decoding restricted to the choices would pick).
      std::vector<size_t> alive(texts.size());
      for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
      for (size_t pos = 0; alive.size() > 1; ++pos) {
        float top = -INFINITY;
        bool any = false;
        for (size_t i : alive)
          if (pos < conts[i].size())
            top = std::max(top, r.choices[i].token_logprobs[pos]), any = true;
        if (!any) break;
        std::vector<size_t> next;
        for (size_t i : alive)
          if (pos < conts[i].size() && r.choices[i].token_logprobs[pos] >= top) next.push_back(i);
        alive = next;
      }
      best = alive.front();
    } else {
      for (size_t i = 1; i < texts.size(); ++i)
        if (scores[i] > scores[best]) best = i;
    }
    if (added_bos) st.tokens.push_back(in.client().bos_id());
    st.tokens.insert(st.tokens.end(), conts[best].begin(), conts[best].end());
    st.text += texts[best];
    assign(f, n.target, texts[best]);
    if (n.aux >= 0) {
      List l;
      for (double s : scores) l.push_back(s);
      graph::LValue lv;
      lv.slot = n.aux;
      lv.global = n.aux_global;
      assign(f, lv, Value(std::move(l)));
    }
  }

  asio::awaitable<Value> call_host(const graph::Function& fn, List args) {
    const HostFunction* h = in.host(fn.name);
    if (!h)
      throw Error("extern function '" + fn.name + "' is not bound (sgrun: --extern " + fn.name +
                  "=CMD; embedding: bind it)");
    HostResult r = co_await await_callback<HostResult>([&](auto cb) {
      try {
        (*h)(std::move(args), cb);
      } catch (const std::exception& e) {
        cb(HostResult{Value(), e.what()});
      } catch (...) {
        cb(HostResult{Value(), "unknown exception"});
      }
    });
    if (!r.error.empty()) throw Error("extern " + fn.name + "() failed: " + r.error);
    co_return r.value;
  }

  std::unique_ptr<Frame> callee_frame(Frame& f, const Node& n, const graph::Function& fn,
                                      List args) {
    if (f.depth + 1 > run.opts.max_call_depth)
      throw Error("call depth limit of " + std::to_string(run.opts.max_call_depth) +
                  " exceeded (runaway recursion?)");
    auto cf = std::make_unique<Frame>();
    cf->fn = &fn;
    cf->slots.resize(std::max(fn.locals.size(), args.size()));
    for (size_t i = 0; i < args.size(); ++i) cf->slots[i] = std::move(args[i]);
    cf->callers = f.callers;
    cf->callers.push_back({n.loc, f.fn});
    cf->depth = f.depth + 1;
    return cf;
  }

  asio::awaitable<void> exec_call(Frame& f, const Node& n) {
    const graph::Function& fn = prog().functions.at(n.callee);
    List args;
    for (const auto& a : n.args) args.push_back(ev(a, f));
    Value result;
    if (fn.is_extern) {
      result = co_await call_host(fn, std::move(args));
    } else {
      auto cf = callee_frame(f, n, fn, std::move(args));
      cf->state = f.state;
      result = co_await body(*cf, fn.entry, graph::kEnd, nullptr);
    }
    assign(f, n.target, std::move(result));
  }

  static asio::awaitable<void> spawned(Interpreter& in, Interpreter::Run& run,
                                       std::unique_ptr<Frame> cf, std::shared_ptr<Future> fut,
                                       List host_args) {
    Exec x{in, run};
    try {
      if (cf->fn->is_extern)
        fut->value = co_await x.call_host(*cf->fn, std::move(host_args));
      else
        fut->value = co_await x.body(*cf, cf->fn->entry, graph::kEnd, nullptr);
    } catch (...) {
      fut->error = std::current_exception();
    }
    fut->done.set();
    if (--run.live_spawns == 0 && run.spawns_done) run.spawns_done->set();
  }

  void exec_spawn(Frame& f, const Node& n) {
    const graph::Function& fn = prog().functions.at(n.callee);
    List args;
    for (const auto& a : n.args) args.push_back(ev(a, f));
    auto fut = std::make_shared<Future>(in.executor());
    List host_args = fn.is_extern ? args : List{};
    auto cf = callee_frame(f, n, fn, std::move(args));
    cf->own_state = std::make_unique<PromptState>(in.fresh_state());
    cf->state = cf->own_state.get();
    ++run.live_spawns;
    if (!run.spawns_done) run.spawns_done = std::make_unique<AsyncEvent>(in.executor());
    run.futures.push_back(fut);
    asio::co_spawn(in.executor(), spawned(in, run, std::move(cf), fut, std::move(host_args)),
                   asio::detached);
    assign(f, n.target, Value(fut));
  }

  static asio::awaitable<void> branch(Interpreter& in, Interpreter::Run& run,
                                      std::unique_ptr<Frame> bf, NodeId start, NodeId stop,
                                      Value* out) {
    Exec x{in, run};
    Value y;
    co_await x.body(*bf, start, stop, &y);
    *out = std::move(y);
  }

  asio::awaitable<void> exec_fork(Frame& f, const Node& n, NodeId& pc) {
    Value it = ev(n.expr, f);
    List items;
    size_t count = 0;
    if (n.fork_kind == graph::ForkKind::Count) {
      if (!it.is_int()) throw Error(std::string("fork count must be an int, got ") + type_name(it));
      if (it.as_int() < 0) throw Error("fork count must not be negative");
      count = static_cast<size_t>(it.as_int());
    } else {
      items = iteration_items(it);
      count = items.size();
    }
    constexpr size_t kMaxBranches = 4096;
    if (count > kMaxBranches)
      throw Error("fork of " + std::to_string(count) + " branches (at most " +
                  std::to_string(kMaxBranches) + ")");
    // The shared prefix runs once on a copy of the parent's state and is prefilled once, so
    // every branch finds it in the radix cache.
    PromptState shared = *f.state;
    for (NodeId id : n.prefix_nodes) state_op(f, f.fn->nodes[id], shared);
    NodeId start = n.prefix_nodes.empty() ? n.body : n.prefix_end;
    if (count >= 2) co_await prefill(shared);

    std::vector<Value> results(count);
    std::vector<std::exception_ptr> errors(count);
    JoinCounter join(in.executor(), count);
    for (size_t i = 0; i < count; ++i) {
      auto bf = std::make_unique<Frame>();
      bf->fn = f.fn;
      bf->slots = f.slots;
      if (n.fork_kind == graph::ForkKind::Each && n.fork_var >= 0) {
        if (static_cast<size_t>(n.fork_var) >= bf->slots.size()) bf->slots.resize(n.fork_var + 1);
        bf->slots[n.fork_var] = items[i];
      }
      bf->own_state = std::make_unique<PromptState>(shared);
      bf->state = bf->own_state.get();
      bf->callers = f.callers;
      bf->depth = f.depth;
      asio::co_spawn(in.executor(), branch(in, run, std::move(bf), start, n.join, &results[i]),
                     [&errors, &join, i](std::exception_ptr e) {
                       errors[i] = e;
                       join.done();
                     });
    }
    co_await join.wait();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    const Node& j = f.fn->nodes.at(n.join);
    assign(f, j.target, Value(List(std::move(results))));
    pc = j.next;
  }

  // Runs f's function from `start` until a Return, the end, or `stop` (a fork's join).
  asio::awaitable<Value> body(Frame& f, NodeId start, NodeId stop, Value* yielded) {
    NodeId pc = start;
    while (pc != graph::kEnd && pc != stop) {
      if (pc < 0 || static_cast<size_t>(pc) >= f.fn->nodes.size())
        throw Error("internal: bad node id");
      const Node& n = f.fn->nodes[pc];
      std::string msg;
      graph::SourceLoc loc = n.loc;
      bool returned = false;
      try {
        if (run.opts.cancel && run.opts.cancel->cancelled()) throw Error("cancelled");
        if (++run.steps > run.opts.max_steps)
          throw Error("step limit of " + std::to_string(run.opts.max_steps) +
                      " exceeded (a runaway loop?)");
        if ((run.steps & 4095) == 0) co_await asio::post(in.executor(), asio::use_awaitable);
        co_await resolve_reads(f, n);
        NodeId next = n.next;
        switch (n.kind) {
          case NodeKind::Nop:
            break;
          case NodeKind::Append:
          case NodeKind::RoleBegin:
          case NodeKind::RoleEnd:
            state_op(f, n, *f.state);
            break;
          case NodeKind::UseTemplate:
            f.state->template_name = n.name;
            break;
          case NodeKind::Gen:
            co_await exec_gen(f, n);
            break;
          case NodeKind::Select:
            co_await exec_select(f, n);
            break;
          case NodeKind::Call:
            co_await exec_call(f, n);
            break;
          case NodeKind::Spawn:
            exec_spawn(f, n);
            break;
          case NodeKind::Fork:
            co_await exec_fork(f, n, next);
            break;
          case NodeKind::Join:
            break;  // reached only through exec_fork
          case NodeKind::Yield:
            if (yielded) *yielded = ev(n.expr, f);
            break;
          case NodeKind::Branch:
            if (!ev(n.expr, f).truthy()) next = n.alt;
            break;
          case NodeKind::ForInit: {
            Value items = Value(iteration_items(ev(n.expr, f)));
            graph::LValue lv;
            lv.slot = n.aux;
            lv.global = n.aux_global;
            assign(f, lv, Value(List{items, int64_t{0}}));
            break;
          }
          case NodeKind::ForNext: {
            std::vector<Value>* vec = n.aux_global ? run.globals : &f.slots;
            if (!vec || n.aux < 0 || static_cast<size_t>(n.aux) >= vec->size() ||
                !(*vec)[n.aux].is_list())
              throw Error("internal: bad loop iterator");
            List& iter = (*vec)[n.aux].mut_list();
            int64_t i = iter[1].as_int();
            const List& items = iter[0].as_list();
            if (i < static_cast<int64_t>(items.size())) {
              Value item = items[static_cast<size_t>(i)];
              iter[1] = i + 1;
              assign(f, n.target, std::move(item));
            } else {
              next = n.alt;
            }
            break;
          }
          case NodeKind::Assign:
            assign(f, n.target, ev(n.expr, f));
            break;
          case NodeKind::Eval:
            ev(n.expr, f);
            break;
          case NodeKind::Return:
            f.ret = ev(n.expr, f);
            returned = true;
            break;
        }
        pc = next;
      } catch (const RuntimeError&) {
        throw;
      } catch (const EvalError& e) {
        msg = e.what();
        if (e.loc.file >= 0) loc = e.loc;
      } catch (const Error& e) {
        msg = e.what();
      } catch (const std::bad_alloc&) {
        msg = "out of memory";
      } catch (const std::exception& e) {
        msg = std::string("internal error: ") + e.what();
      }
      if (!msg.empty()) throw RuntimeError(msg, trace(f, loc));
      if (returned) co_return std::move(f.ret);
    }
    co_return Value();
  }

  // Waits for every spawn of the run, then fails if one failed and nobody awaited it.
  asio::awaitable<void> finish() {
    if (run.live_spawns > 0) co_await run.spawns_done->wait();
    for (const auto& fut : run.futures)
      if (fut->error && !fut->awaited) std::rethrow_exception(fut->error);
  }
};

// ---- Interpreter -------------------------------------------------------------------------------

Interpreter::Interpreter(asio::any_io_executor ex, std::shared_ptr<ModelClient> client,
                         std::shared_ptr<const graph::Program> program, HostFunctions hosts)
    : ex_(std::move(ex)),
      client_(std::move(client)),
      program_(std::move(program)),
      hosts_(std::move(hosts)),
      consts_(program_->consts.size()) {
  model_template_ = template_for_model(client_->chat_template()).name;
}

Interpreter::~Interpreter() = default;

const graph::Template& Interpreter::template_for(const PromptState& st) const {
  const std::string& name = !st.template_name.empty() ? st.template_name : program_->template_name;
  if (!name.empty()) {
    auto it = program_->templates.find(name);
    if (it != program_->templates.end()) return it->second;
    if (const graph::Template* t = builtin_template(name)) return *t;
    throw Error("unknown chat template '" + name + "'");
  }
  return *builtin_template(model_template_);
}

const Value& Interpreter::const_value(int32_t slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= consts_.size())
    throw Error("internal: bad const slot");
  if (!consts_[slot]) {
    EvalEnv env;
    env.const_value = [this](int32_t s) -> const Value& { return const_value(s); };
    consts_[slot] = eval(program_->consts[slot].value, env);
  }
  return *consts_[slot];
}

std::shared_ptr<const constraint::Vocabulary> Interpreter::vocabulary() {
  if (!vocab_) {
    auto tok = client_->tokenizer();
    if (!tok) return nullptr;
    vocab_ = constraint::Vocabulary::from_tokenizer(*tok);
  }
  return vocab_;
}

const HostFunction* Interpreter::host(const std::string& name) const {
  auto it = hosts_.find(name);
  if (it == hosts_.end()) {
    auto dot = name.rfind('.');
    if (dot != std::string::npos) it = hosts_.find(name.substr(dot + 1));
  }
  return it == hosts_.end() ? nullptr : &it->second;
}

PromptState Interpreter::fresh_state() const {
  PromptState st;
  if (client_->add_bos() && client_->bos_id() >= 0) st.tokens.push_back(client_->bos_id());
  return st;
}

void Interpreter::append_text(PromptState& st, const std::string& text, bool parse_special) const {
  if (text.empty()) return;
  auto toks = client_->tokenize(text, parse_special);
  st.tokens.insert(st.tokens.end(), toks.begin(), toks.end());
  st.text += text;
}

asio::awaitable<Value> Interpreter::run_main(Map args, RunOptions options) {
  if (program_->entry < 0) throw Error("the program has no `fn main`");
  const graph::Function& fn = program_->functions.at(program_->entry);
  List positional;
  for (const auto& kv : args.items()) {
    bool known = false;
    for (const auto& p : fn.params) known = known || p.name == kv.first;
    if (!known) throw Error("main has no parameter '" + kv.first + "'");
  }
  for (const auto& p : fn.params) {
    if (const Value* v = args.find(p.name))
      positional.push_back(*v);
    else if (p.has_default) {
      EvalEnv env;
      env.const_value = [this](int32_t s) -> const Value& { return const_value(s); };
      positional.push_back(eval(p.default_value, env));
    } else {
      throw Error("missing argument '" + p.name + "' for main (pass " + p.name + "=...)");
    }
  }
  PromptState state = fresh_state();
  co_return co_await run_function(program_->entry, std::move(positional), state, nullptr,
                                  std::move(options));
}

asio::awaitable<Value> Interpreter::run_function(int32_t index, List args, PromptState& state,
                                                 std::vector<Value>* globals, RunOptions options) {
  if (index < 0 || static_cast<size_t>(index) >= program_->functions.size())
    throw Error("internal: bad function index");
  Run run;
  run.opts = std::move(options);
  run.globals = globals;
  if (run.opts.cancel) run.opts.cancel->attach(client_);
  Exec x{*this, run};
  const graph::Function& fn = program_->functions[index];
  Frame f;
  f.fn = &fn;
  f.slots.resize(std::max(fn.locals.size(), args.size()));
  for (size_t i = 0; i < args.size(); ++i) f.slots[i] = std::move(args[i]);
  f.state = &state;
  std::exception_ptr err;
  Value result;
  try {
    result = co_await x.body(f, fn.entry, graph::kEnd, nullptr);
    result = co_await x.resolve(std::move(result));
  } catch (...) {
    err = std::current_exception();
  }
  co_await x.finish();  // never leave spawned coroutines behind
  if (err) std::rethrow_exception(err);
  co_return result;
}

asio::awaitable<void> Interpreter::prefill(PromptState& state, RunOptions options) {
  Run run;
  run.opts = std::move(options);
  if (run.opts.cancel) run.opts.cancel->attach(client_);
  Exec x{*this, run};
  co_await x.prefill(state);
}

}  // namespace sgp::interp
