"""End to end: a real `sgrun serve` with the default model, driven by curl and the official
`openai` client. Usage: e2e_test.py --sgrun PATH [--model FILE]"""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_harness import Checks, Server, arg, collect_tests  # noqa: E402

import jsonschema  # noqa: E402
import openai  # noqa: E402

KEY = "e2e-test-key-0123456789"
JWT_SECRET = "e2e-jwt-secret-0123456789abcdef"
SGRUN = arg("--sgrun")
MODEL = arg("--model")
TMP = tempfile.mkdtemp(prefix="sgp-server-e2e-")
with open(os.path.join(TMP, "jwt.secret"), "w") as f:
    f.write(JWT_SECRET + "\n")
with open(os.path.join(TMP, "greet.sgp"), "w") as f:
    f.write('fn main(name = "world") {\n'
            '  "A short greeting to {name}.\\nGreeting:"\n'
            '  gen greeting(max_tokens: 12, temperature: 0, stop: "\\n")\n'
            '  "\\nA second one:"\n'
            '  gen second(max_tokens: 8, temperature: 0, stop: "\\n")\n'
            '  return {"a": strip(greeting), "b": strip(second)}\n}\n')

args = ["--api-key", KEY, "--jwt-secret-file", os.path.join(TMP, "jwt.secret"),
        "--jwt-audience", "sgp", "--max-tokens", "256", "--model-name", "smollm2",
        "--program", "greet=" + os.path.join(TMP, "greet.sgp"), "--threads", "2"]
if MODEL:
    args += ["--model", MODEL]
srv = Server(SGRUN, args)
client = openai.OpenAI(base_url=srv.base + "/v1", api_key=KEY, max_retries=0, timeout=300)


def jwt(claims, secret=JWT_SECRET):
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def curl(*a):
    out = subprocess.run(["curl", "-sS", *a], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def is_error_body(body, type_=None):
    assert isinstance(body, dict) and "error" in body, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if type_:
        assert body["error"]["type"] == type_, body


# ---- basics and auth ----

def test_health_needs_no_auth():
    status, body, hdrs = srv.json("GET", "/health")
    assert status == 200 and body == {"status": "ok"}
    assert hdrs.get("x-request-id")


def test_auth_failures_are_json_401_403():
    status, body, hdrs = srv.json("GET", "/v1/models")
    assert status == 401, status
    is_error_body(body, "authentication_error")
    assert hdrs.get("www-authenticate") == "Bearer"
    assert srv.json("GET", "/v1/models", key="wrong-key-000000")[0] == 401
    assert srv.json("GET", "/v1/models", headers={"Authorization": "Basic " + KEY})[0] == 401
    now = int(time.time())
    assert srv.json("GET", "/v1/models", key=jwt({"sub": "bob", "aud": "sgp", "exp": now + 600}))[0] == 200
    status, body, _ = srv.json("GET", "/v1/models", key=jwt({"sub": "bob", "aud": "other", "exp": now + 600}))
    assert status == 403, status
    is_error_body(body, "permission_error")
    assert srv.json("GET", "/v1/models", key=jwt({"sub": "bob", "aud": "sgp", "exp": now - 10}))[0] == 401
    assert srv.json("GET", "/v1/models", key=jwt({"aud": "sgp"}, "not-the-secret-at-all-000"))[0] == 401
    # The openai client surfaces it as AuthenticationError.
    bad = openai.OpenAI(base_url=srv.base + "/v1", api_key="nope-nope-nope", max_retries=0)
    try:
        bad.models.list()
        raise AssertionError("no error")
    except openai.AuthenticationError as e:
        assert e.status_code == 401


def test_models_list():
    ids = [m.id for m in client.models.list().data]
    assert ids == ["smollm2"], ids


# ---- OpenAI API through the official client ----

def test_chat_completion():
    r = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=24,
                                       messages=[{"role": "system", "content": "You are brief."},
                                                 {"role": "user", "content": "What is the capital of France?"}])
    c = r.choices[0]
    assert c.message.role == "assistant"
    assert c.message.content.strip(), r
    assert c.finish_reason in ("stop", "length")
    u = r.usage
    assert u.prompt_tokens > 10 and 0 < u.completion_tokens <= 24
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")


def test_chat_stream_equals_whole_response():
    msgs = [{"role": "user", "content": "Name three colors."}]
    whole = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=30, messages=msgs)
    pieces, finish, usage = [], None, None
    stream = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=30, messages=msgs,
                                            stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            if ch.delta.content:
                pieces.append(ch.delta.content)
            if ch.finish_reason:
                finish = ch.finish_reason
    assert "".join(pieces) == whole.choices[0].message.content
    assert len(pieces) > 1
    assert finish == whole.choices[0].finish_reason
    assert usage and usage.completion_tokens == whole.usage.completion_tokens


def test_completion_and_stream():
    r = client.completions.create(model="smollm2", prompt="The capital of France is", temperature=0, max_tokens=6)
    text = r.choices[0].text
    assert "Paris" in text, text
    assert r.usage.completion_tokens <= 6
    pieces = [c.choices[0].text for c in client.completions.create(
        model="smollm2", prompt="The capital of France is", temperature=0, max_tokens=6, stream=True)
        if c.choices]
    assert "".join(pieces) == text


def test_stop_n_seed_and_penalties():
    r = client.completions.create(model="smollm2", prompt="Count: 1, 2, 3,", temperature=0, max_tokens=40,
                                  stop=[" 6"])
    assert " 6" not in r.choices[0].text and r.choices[0].finish_reason == "stop", r.choices[0]
    kw = dict(model="smollm2", prompt="Once upon a time", temperature=1.0, top_p=0.9, max_tokens=12,
              seed=7, n=3, extra_body={"top_k": 40, "min_p": 0.05}, frequency_penalty=0.5, presence_penalty=0.2)
    a = client.completions.create(**kw)
    b = client.completions.create(**kw)
    assert len(a.choices) == 3 and sorted(c.index for c in a.choices) == [0, 1, 2]
    assert [c.text for c in a.choices] == [c.text for c in b.choices]  # same seed, same text
    assert len({c.text for c in a.choices}) > 1  # the choices differ from each other


def test_logprobs():
    r = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=8, logprobs=True,
                                       top_logprobs=3, messages=[{"role": "user", "content": "Say hi"}])
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert abs(t.top_logprobs[0].logprob - t.logprob) < 1e-4
    c = client.completions.create(model="smollm2", prompt="Hello", temperature=0, max_tokens=5, logprobs=2)
    lp = c.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == c.usage.completion_tokens
    assert all(len(t) <= 2 for t in lp.top_logprobs)


def test_echo_logprobs_cover_the_prompt():
    # The prompt's log-probabilities (scored) agree with the same token's when generated (sampled).
    prompt = "The capital of France is"
    g = client.completions.create(model="smollm2", prompt=prompt, temperature=0, max_tokens=1, logprobs=1)
    first_tok, first_lp = g.choices[0].logprobs.tokens[0], g.choices[0].logprobs.token_logprobs[0]
    e = client.completions.create(model="smollm2", prompt=prompt + first_tok, temperature=0, max_tokens=1,
                                  echo=True, logprobs=1)
    text, lp = e.choices[0].text, e.choices[0].logprobs
    assert text.startswith(prompt + first_tok)
    assert "".join(lp.tokens) == text
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.text_offset) == len(lp.top_logprobs)
    assert lp.text_offset == [len("".join(lp.tokens[:i]).encode()) for i in range(len(lp.tokens))]
    k = len(lp.tokens) - 2  # the prompt's last token; the generated one follows
    assert lp.tokens[k] == first_tok
    assert abs(lp.token_logprobs[k] - first_lp) < 2e-3, (lp.token_logprobs[k], first_lp)
    assert lp.token_logprobs[0] is None or lp.token_logprobs[0] <= 0
    assert all(x is not None and x <= 0 for x in lp.token_logprobs[1:])


def test_json_schema_output_validates():
    schema = {"type": "object",
              "properties": {"name": {"type": "string", "maxLength": 20},
                             "age": {"type": "integer"},
                             "city": {"enum": ["Paris", "London", "Rome"]}},
              "required": ["name", "age", "city"]}
    r = client.chat.completions.create(
        model="smollm2", temperature=0, max_tokens=80,
        messages=[{"role": "user", "content": "Describe a person living in Paris as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
    data = json.loads(r.choices[0].message.content)
    jsonschema.validate(data, schema)
    # Sampled too (several seeds): always valid.
    for seed in range(3):
        r = client.chat.completions.create(
            model="smollm2", temperature=1.0, seed=seed, max_tokens=80,
            messages=[{"role": "user", "content": "A person as JSON."}],
            response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
        jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_json_object_and_regex_formats():
    r = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=60,
                                       messages=[{"role": "user", "content": "Give me a JSON object about a cat."}],
                                       response_format={"type": "json_object"})
    assert isinstance(json.loads(r.choices[0].message.content), dict), r.choices[0].message.content
    r = client.completions.create(model="smollm2", prompt="My phone number is", temperature=0.7, max_tokens=20,
                                  extra_body={"response_format": {"type": "regex", "regex": r" \d{3}-\d{4}"}})
    assert re.fullmatch(r" \d{3}-\d{4}", r.choices[0].text), r.choices[0].text


def test_openai_client_errors():
    for kw, exc in [(dict(max_tokens=100000), openai.BadRequestError),
                    (dict(temperature=5), openai.BadRequestError),
                    (dict(model="no-such-model"), openai.NotFoundError),
                    (dict(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "wat"}}}),
                     openai.BadRequestError),
                    (dict(extra_body={"response_format": {"type": "regex", "regex": "(unclosed"}}),
                     openai.BadRequestError)]:
        args = dict(model="smollm2", max_tokens=4, messages=[{"role": "user", "content": "x"}])
        args.update(kw)
        try:
            client.chat.completions.create(**args)
            raise AssertionError(f"no error for {kw}")
        except exc as e:
            assert e.body and e.body.get("message"), e.body


# ---- curl ----

def test_curl_chat_and_request_id():
    out = curl("-D", "-", "-H", f"Authorization: Bearer {KEY}", "-H", "Content-Type: application/json",
               "-H", "X-Request-Id: curl-req-42", srv.base + "/v1/chat/completions",
               "-d", json.dumps({"model": "smollm2", "temperature": 0, "max_tokens": 8,
                                 "messages": [{"role": "user", "content": "Hi"}]}))
    head, body = re.split(r"\r?\n\r?\n", out, maxsplit=1)
    assert head.startswith("HTTP/1.1 200"), head
    assert re.search(r"(?im)^x-request-id: curl-req-42\r?$", head), head
    assert json.loads(body)["choices"][0]["message"]["content"]
    time.sleep(0.2)
    logs = [e for e in srv.log_events() if e.get("request_id") == "curl-req-42"]
    assert logs and logs[-1]["status"] == 200 and logs[-1]["path"] == "/v1/chat/completions", logs
    assert logs[-1]["completion_tokens"] > 0


def test_curl_stream_and_errors():
    out = curl("-N", "-H", f"Authorization: Bearer {KEY}", srv.base + "/v1/completions",
               "-d", json.dumps({"prompt": "Hello", "max_tokens": 6, "temperature": 0, "stream": True}))
    assert out.rstrip().endswith("data: [DONE]"), out
    assert out.count("data: ") >= 3
    out = curl("-w", "%{http_code}", srv.base + "/v1/completions", "-d", "{}")
    assert out.endswith("401")
    is_error_body(json.loads(out[:-3]))
    out = curl("-w", "%{http_code}", "-H", f"Authorization: Bearer {KEY}", srv.base + "/v1/completions",
               "-d", "{bad json")
    assert out.endswith("400"), out
    is_error_body(json.loads(out[:-3]), "invalid_request_error")
    assert curl("-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {KEY}",
                srv.base + "/nope") == "404"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "-H", f"Authorization: Bearer {KEY}",
                srv.base + "/v1/completions") == "405"


# ---- native API ----

def test_native_tokenize_generate_score():
    st, info, _ = srv.json("GET", "/model_info", key=KEY)
    assert st == 200 and info["vocab_size"] > 1000 and info["eos_ids"] and "chat_template" in info
    st, tok, _ = srv.json("POST", "/tokenize", {"text": "The capital of France is"}, key=KEY)
    ids = tok["ids"]
    st, de, _ = srv.json("POST", "/detokenize", {"ids": ids}, key=KEY)
    assert de["text"] == "The capital of France is"
    prompt = ([info["bos_id"]] if info["add_bos"] and info["bos_id"] >= 0 else []) + ids
    st, g, hdrs = srv.json("POST", "/generate", {"input_ids": prompt, "sampling_params":
                                                 {"max_tokens": 6, "temperature": 0, "logprobs": 2}}, key=KEY)
    assert st == 200, g
    assert "Paris" in g["text"] and g["finish_reason"] in ("length", "stop", "eos")
    assert len(g["logprobs"]) == len(g["output_ids"]) and len(g["logprobs"][0]["top"]) == 2
    assert g["prompt_tokens"] == len(prompt)
    # The same through text, and streamed: identical greedy output.
    st, g2, _ = srv.json("POST", "/generate", {"text": "The capital of France is",
                                               "sampling_params": {"max_tokens": 6, "temperature": 0}}, key=KEY)
    assert g2["output_ids"] == g["output_ids"]
    assert g2["cached_tokens"] > 0  # the radix cache kept the first request's prompt
    st, events, _ = srv.sse("/generate", {"input_ids": prompt, "stream": True,
                                          "sampling_params": {"max_tokens": 6, "temperature": 0}}, KEY)
    assert events[-1] == "[DONE]" and events[-2]["done"] is True
    assert "".join(e["delta"] for e in events[:-2]) == g["text"] == events[-2]["text"]
    st, c, _ = srv.json("POST", "/generate", {"input_ids": prompt, "sampling_params":
                                              {"max_tokens": 3, "choices": [" Paris", " Lyon"], "temperature": 0}},
                        key=KEY)
    assert c["text"] in (" Paris", " Lyon"), c
    paris = srv.json("POST", "/tokenize", {"text": " Paris"}, key=KEY)[1]["ids"]
    lyon = srv.json("POST", "/tokenize", {"text": " Lyon"}, key=KEY)[1]["ids"]
    st, s, _ = srv.json("POST", "/score", {"prefix_ids": prompt, "continuations": [paris, lyon]}, key=KEY)
    assert st == 200 and len(s["choices"]) == 2
    assert s["choices"][0]["sum"] > s["choices"][1]["sum"], s
    assert srv.json("POST", "/generate", {"input_ids": [10 ** 9]}, key=KEY)[0] == 400
    assert srv.json("POST", "/score", {"prefix_ids": [], "continuations": [[1]]}, key=KEY)[0] == 400


def test_programs_run():
    st, r, _ = srv.json("POST", "/v1/programs/run", {"program": "greet", "args": {"name": "Ada"}}, key=KEY)
    assert st == 200, r
    assert set(r["result"]) == {"a", "b"} and len(r["gens"]) == 2
    assert r["gens"][0]["text"].strip() == r["result"]["a"]
    st, events, _ = srv.sse("/v1/programs/run", {"program": "greet", "args": {"name": "Ada"}, "stream": True}, KEY)
    gens = [e for e in events if isinstance(e, dict) and e.get("type") == "gen"]
    assert [g["index"] for g in gens] == [0, 1]
    assert events[-2]["type"] == "result" and events[-2]["result"] == r["result"]
    assert events[-1] == "[DONE]"
    src = 'fn main(x = 1) {\n  "Q: 2+2=\\nA:"\n  gen a(max_tokens: 3, temperature: 0, regex: "[0-9]")\n  return a\n}\n'
    st, r, _ = srv.json("POST", "/v1/programs/run", {"source": src}, key=KEY)
    assert st == 200 and re.fullmatch("[0-9]", r["result"]), r
    st, r, _ = srv.json("POST", "/v1/programs/run", {"source": "fn main() { gen }"}, key=KEY)
    assert st == 400 and r["error"]["code"] == "compile_error", r
    st, r, _ = srv.json("POST", "/v1/programs/run", {"program": "nope"}, key=KEY)
    assert st == 404


def test_metrics_after_traffic():
    m = srv.metrics(KEY)
    assert m["sgp_generation_tokens_total"] > 0 and m["sgp_prompt_tokens_total"] > 0
    assert m["sgp_kv_pages_total"] > 0
    assert m["sgp_kv_pages_used"] == 0, m  # nothing running: every page returned
    assert 0 < m["sgp_cache_hit_rate"] <= 1
    assert m["sgp_requests_running"] == 0 and m["sgp_requests_waiting"] == 0


def test_sigterm_drains_in_flight_requests():
    # A separate server: SIGTERM while a generation streams — it completes, then the process exits 0.
    s2 = Server(SGRUN, ["--no-auth", "--threads", "2", "--drain-timeout", "60"] +
                (["--model", MODEL] if MODEL else []))
    result = {}

    def long_request():
        result["r"] = s2.sse("/v1/completions", {"prompt": "Tell a long story:", "max_tokens": 60,
                                                 "temperature": 0, "stream": True, "ignore_eos": True}, "x")
    t = threading.Thread(target=long_request)
    t.start()
    time.sleep(1.5)
    s2.proc.send_signal(signal.SIGTERM)
    t.join(timeout=180)
    code = s2.proc.wait(timeout=60)  # no second signal: it must exit by itself
    status, events, _ = result["r"]
    assert status == 200 and events[-1] == "[DONE]", events[-3:]
    finals = [e for e in events if isinstance(e, dict) and e["choices"] and e["choices"][0]["finish_reason"]]
    assert finals and finals[-1]["choices"][0]["finish_reason"] == "length"
    assert code == 0, code
    assert any(e.get("msg") == "draining" for e in s2.log_events())


def test_no_auth_refuses_public_address():
    out = subprocess.run([SGRUN, "serve", "--no-auth", "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "loopback" in out.stderr, out.stderr
    out = subprocess.run([SGRUN, "serve", "--port", "0"], capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if k != "SGP_API_KEY"})
    assert out.returncode != 0 and "--no-auth" in out.stderr, out.stderr


if __name__ == "__main__":
    try:
        code = Checks().run(collect_tests(globals()))
    finally:
        srv.stop()
    sys.exit(code)
