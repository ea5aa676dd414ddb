"""G6 online benchmark: an open-loop load generator for a running `sgrun serve` (Python stdlib only).

Requests arrive as a Poisson process at each rate given (default 1, 4 and 16 req/s), N per rate,
each a streaming request (server-sent events) to /v1/completions or the native /generate. Per
rate it reports time to first token (TTFT) and inter-token latency (ITL, the gaps between
successive streamed pieces) p50/p99, plus the time per output token of each request. "One
prefill's time" is a single request alone with max_tokens=1 (median of a few, each with a fresh
prompt so the radix cache cannot serve it), and G6's criterion is TTFT p50 at 1 req/s <= 2x that.

Prompts are made of common English words (one token each in most vocabularies), different from
the first word on so no two share a cached prefix. Lengths are fixed (--input-len/--output-len) or
drawn, seeded, from a ShareGPT-like lognormal (--lengths sharegpt: input mean 250, output mean 200,
sigma 0.9, as G3). Outputs have the asked length through `ignore_eos` (an sgrun extension; pass
--no-ignore-eos for servers without it).

Usage:
  online_bench.py --url http://HOST:PORT [--api-key KEY | $SGP_API_KEY] [--rates 1,4,16]
                  [--requests 100] [--endpoint completions|generate] [--lengths fixed|sharegpt]
                  [--input-len 250] [--output-len 200] [--seed 0] [--out FILE]
  online_bench.py --sgrun build/sgrun [--model FILE] [--threads 2] ...   (starts its own server)
"""
import argparse
import datetime
import http.client
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORDS = ("time year people way day man thing woman life child world school state family student "
         "group country problem hand part place case week company system program question work "
         "government number night point home water room mother area money story fact month lot "
         "right study book eye job word business issue side kind head house service friend father "
         "power hour game line end member law car city community name president team minute idea "
         "kid body information back parent face others level office door health person art war "
         "history party result change morning reason research girl guy moment air teacher force "
         "education foot boy age policy process music market sense nation plan college interest "
         "death experience effect class control care field development role effort rate heart "
         "drug show leader light voice wife police mind price report decision son view "
         "relationship town road arm difference value building action model season society tax "
         "director position player record paper space ground form event official matter center "
         "couple site project activity star table need court oil situation cost industry figure "
         "street image phone data picture practice piece land product doctor wall patient worker "
         "news test movie north love support technology step baby computer type attention film "
         "tree source organization hair window evidence population truth song blue green river "
         "stone bread garden winter summer ocean mountain letter cloud train bridge island").split()


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def lognormal_len(rng, mean, sigma, lo, hi):
    v = rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
    return max(lo, min(hi, int(round(v))))


def make_prompt(rng, words, uid):
    # The first word differs for every request (uid), so prompts share no cached prefix.
    head = f"{WORDS[uid % len(WORDS)]} {uid}"
    return " ".join([head] + [rng.choice(WORDS) for _ in range(max(0, words - 2))])


class Client:
    def __init__(self, url, key, endpoint, ignore_eos, timeout):
        u = urllib.parse.urlparse(url)
        if u.scheme != "http":
            sys.exit(f"--url must be http://HOST:PORT (got {url})")
        self.host, self.port = u.hostname, u.port or 80
        self.base = u.path.rstrip("/")
        self.key, self.endpoint, self.ignore_eos, self.timeout = key, endpoint, ignore_eos, timeout

    def _body(self, prompt, max_tokens):
        if self.endpoint == "generate":
            sp = {"max_tokens": max_tokens, "temperature": 0}
            if self.ignore_eos:
                sp["ignore_eos"] = True
            return "/generate", {"text": prompt, "sampling_params": sp, "stream": True}
        b = {"model": "default", "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
             "stream": True, "stream_options": {"include_usage": True}}
        if self.ignore_eos:
            b["ignore_eos"] = True
        return "/v1/completions", b

    def stream(self, prompt, max_tokens, t_start):
        """One streaming request. Returns a dict: ttft_s, gaps_s (between pieces), e2e_s,
        output_tokens, prompt_tokens, error. Times are measured from t_start (the arrival time)."""
        path, body = self._body(prompt, max_tokens)
        out = {"ttft_s": None, "gaps_s": [], "e2e_s": None, "output_tokens": None,
               "prompt_tokens": None, "error": None}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
            if self.key:
                headers["Authorization"] = f"Bearer {self.key}"
            conn.request("POST", self.base + path, body=json.dumps(body), headers=headers)
            r = conn.getresponse()
            if r.status != 200:
                out["error"] = f"HTTP {r.status}: {r.read()[:300].decode('utf-8', 'replace')}"
                return out
            last = None
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    break
                ev = json.loads(data)
                if "error" in ev:
                    out["error"] = json.dumps(ev["error"])[:300]
                    break
                piece, now = self._piece(ev, out), time.perf_counter()
                if piece:
                    if last is None:
                        out["ttft_s"] = now - t_start
                    else:
                        out["gaps_s"].append(now - last)
                    last = now
            out["e2e_s"] = time.perf_counter() - t_start
            if out["ttft_s"] is None and out["error"] is None:
                out["error"] = "no text arrived"
        except (OSError, http.client.HTTPException, ValueError) as e:
            out["error"] = f"{type(e).__name__}: {e}"
        finally:
            conn.close()
        return out

    def _piece(self, ev, out):
        """The text piece an event carries ("" for none); records token counts when given."""
        if self.endpoint == "generate":
            if ev.get("done"):
                out["output_tokens"] = len(ev.get("output_ids", []))
                out["prompt_tokens"] = ev.get("prompt_tokens")
                return ""
            return ev.get("delta", "")
        if ev.get("usage"):
            out["output_tokens"] = ev["usage"].get("completion_tokens")
            out["prompt_tokens"] = ev["usage"].get("prompt_tokens")
        ch = ev.get("choices") or []
        return ch[0].get("text", "") if ch else ""


def run_rate(client, rate, reqs, rng_seed):
    """Open loop: request i is sent at its Poisson arrival time whatever the earlier ones do."""
    rng = random.Random(rng_seed)
    t, arrivals = 0.0, []
    for _ in reqs:
        t += rng.expovariate(rate)
        arrivals.append(t)
    results = [None] * len(reqs)
    threads = []
    t0 = time.perf_counter()

    def one(i):
        results[i] = client.stream(reqs[i][0], reqs[i][1], t0 + arrivals[i])

    for i, at in enumerate(arrivals):
        delay = t0 + at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        th = threading.Thread(target=one, args=(i,), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    ok = [r for r in results if r["error"] is None]
    ttft = [r["ttft_s"] for r in ok]
    gaps = [g for r in ok for g in r["gaps_s"]]
    tpot = [(r["e2e_s"] - r["ttft_s"]) / (r["output_tokens"] - 1) for r in ok
            if r["output_tokens"] and r["output_tokens"] > 1]
    out_toks = sum(r["output_tokens"] or 0 for r in ok)
    errors = sorted({r["error"] for r in results if r["error"]})
    return {
        "rate_req_s": rate, "requests": len(reqs), "completed": len(ok),
        "failed": len(results) - len(ok), "errors": errors[:5],
        "ttft_p50_s": percentile(ttft, 50), "ttft_p99_s": percentile(ttft, 99),
        "ttft_mean_s": statistics.mean(ttft) if ttft else None,
        "itl_p50_s": percentile(gaps, 50), "itl_p99_s": percentile(gaps, 99),
        "tpot_p50_s": percentile(tpot, 50), "tpot_p99_s": percentile(tpot, 99),
        "e2e_p50_s": percentile([r["e2e_s"] for r in ok], 50),
        "achieved_req_s": len(ok) / wall if wall > 0 else None,
        "output_tokens_per_s": out_toks / wall if wall > 0 else None,
        "prompt_tokens_mean": statistics.mean([r["prompt_tokens"] for r in ok if r["prompt_tokens"]] or [0]),
        "output_tokens_mean": statistics.mean([r["output_tokens"] for r in ok if r["output_tokens"]] or [0]),
        "wall_s": wall,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server, http://HOST:PORT")
    ap.add_argument("--sgrun", help="start `SGRUN serve` on a free loopback port instead")
    ap.add_argument("--model", help="with --sgrun: the model file")
    ap.add_argument("--threads", default="2", help="with --sgrun: --threads")
    ap.add_argument("--server-arg", action="append", default=[], help="with --sgrun: one more flag")
    ap.add_argument("--api-key", default=os.environ.get("SGP_API_KEY", ""))
    ap.add_argument("--endpoint", choices=["completions", "generate"], default="completions")
    ap.add_argument("--rates", default="1,4,16", help="comma list of request rates (req/s)")
    ap.add_argument("--requests", type=int, default=100, help="requests per rate")
    ap.add_argument("--lengths", choices=["fixed", "sharegpt"], default="sharegpt")
    ap.add_argument("--input-len", type=int, default=250, help="words (fixed) or mean (sharegpt)")
    ap.add_argument("--output-len", type=int, default=200, help="tokens (fixed) or mean (sharegpt)")
    ap.add_argument("--max-input-len", type=int, default=2048)
    ap.add_argument("--max-output-len", type=int, default=1024)
    ap.add_argument("--prefill-runs", type=int, default=5)
    ap.add_argument("--no-ignore-eos", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--note", default="", help="free text stored in the JSON (machine, load, ...)")
    ap.add_argument("--out", help="JSON report path (default: print only)")
    a = ap.parse_args()
    rates = [float(x) for x in a.rates.split(",") if x.strip()]
    if not rates or any(r <= 0 for r in rates):
        sys.exit("--rates: positive numbers, comma separated")

    server = None
    if a.sgrun:
        sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
        from server_harness import Server  # noqa: E402
        if not a.api_key:
            a.api_key = "online-bench-key-0123456789"
        args = ["--api-key", a.api_key, "--threads", a.threads, "--no-access-log", *a.server_arg]
        if a.model:
            args += ["--model", a.model]
        server = Server(a.sgrun, args)
        a.url = server.base
    if not a.url:
        sys.exit("give --url of a running server, or --sgrun to start one")
    client = Client(a.url, a.api_key, a.endpoint, not a.no_ignore_eos, a.timeout)

    uid = [a.seed * 1_000_003]

    def fresh(rng, words, out_len):
        uid[0] += 1
        return make_prompt(rng, words, uid[0]), out_len

    try:
        rng = random.Random(a.seed)
        warm = client.stream(fresh(rng, 16, 1)[0], 4, time.perf_counter())
        if warm["error"]:
            sys.exit(f"warm-up request failed: {warm['error']}")
        # One prefill alone: prompt of the mean input length, max_tokens 1, fresh each time.
        pre = []
        for _ in range(a.prefill_runs):
            p = client.stream(fresh(rng, a.input_len, 1)[0], 1, time.perf_counter())
            if p["error"]:
                sys.exit(f"prefill request failed: {p['error']}")
            pre.append(p)
        prefill_s = statistics.median(p["ttft_s"] for p in pre)
        report = {"G6": {}}
        for k, rate in enumerate(rates):
            lrng = random.Random(a.seed * 7919 + k)
            reqs = []
            for _ in range(a.requests):
                if a.lengths == "sharegpt":
                    n_in = lognormal_len(lrng, a.input_len, 0.9, 8, a.max_input_len)
                    n_out = lognormal_len(lrng, a.output_len, 0.9, 4, a.max_output_len)
                else:
                    n_in, n_out = a.input_len, a.output_len
                reqs.append(fresh(lrng, n_in, n_out))
            res = run_rate(client, rate, reqs, a.seed * 104729 + k)
            report["G6"][f"rate_{rate:g}"] = res
            print(f"rate {rate:g} req/s: completed {res['completed']}/{res['requests']}, "
                  f"TTFT p50 {res['ttft_p50_s']}, p99 {res['ttft_p99_s']}, "
                  f"ITL p50 {res['itl_p50_s']}, p99 {res['itl_p99_s']}", file=sys.stderr, flush=True)
    finally:
        if server:
            server.stop()

    r1 = report["G6"].get("rate_1")
    cpu = "unknown"
    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")][0]
    except (OSError, IndexError):
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report.update({
        "benchmark": "G6 online (open-loop Poisson arrivals, streaming)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "server": a.url if not server else f"sgrun serve (started by the bench, --threads {a.threads})",
        "workload": {"endpoint": "/generate" if a.endpoint == "generate" else "/v1/completions",
                     "lengths": a.lengths, "input_len_words": a.input_len,
                     "output_len_tokens": a.output_len, "requests_per_rate": a.requests,
                     "ignore_eos": not a.no_ignore_eos, "temperature": 0, "seed": a.seed},
        "prefill_s": prefill_s,
        "prefill_runs_s": [p["ttft_s"] for p in pre],
        "prefill_prompt_tokens": pre[0]["prompt_tokens"],
        "G6_ttft_ratio": (r1["ttft_p50_s"] / prefill_s) if r1 and r1["ttft_p50_s"] else None,
        "G6_target": "TTFT p50 at 1 req/s <= 2x prefill_s",
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "load_avg_1m_at_end": os.getloadavg()[0],
                    "platform": platform.platform()},
        "note": a.note,
    })
    if report["G6_ttft_ratio"] is not None:
        report["G6_met"] = report["G6_ttft_ratio"] <= 2.0
    text = json.dumps(report, indent=2)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
