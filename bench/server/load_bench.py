"""Server load benchmark: requests/s and latency p50/p99 at a fixed concurrency, on a real
`sgrun serve` with the default model (CPU). Writes bench/results/<date>-cpu-server-load.json.
Usage: load_bench.py --sgrun PATH [--concurrency 8] [--requests 96] [--max-tokens 32] [--out FILE]"""
import concurrent.futures as cf
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
from server_harness import Server, arg  # noqa: E402

KEY = "bench-key-0123456789"


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    sgrun = arg("--sgrun", os.path.join(ROOT, "build", "sgrun"))
    conc = int(arg("--concurrency", "8"))
    n = int(arg("--requests", "96"))
    max_tokens = int(arg("--max-tokens", "32"))
    threads = arg("--threads", "2")
    out = arg("--out", os.path.join(ROOT, "bench", "results",
                                    f"{datetime.date.today().isoformat()}-cpu-server-load.json"))
    srv = Server(sgrun, ["--api-key", KEY, "--threads", threads, "--no-access-log"])
    topics = ["the sea", "a library", "mountains", "a robot", "the moon", "bread", "trains", "winter"]

    def one(i):
        body = {"model": "default", "temperature": 0.7, "seed": i, "max_tokens": max_tokens, "ignore_eos": True,
                "messages": [{"role": "user", "content": f"Write two sentences about {topics[i % len(topics)]}."}]}
        t0 = time.perf_counter()
        st, r, _ = srv.json("POST", "/v1/chat/completions", body, key=KEY, timeout=600)
        dt = time.perf_counter() - t0
        assert st == 200, r
        return dt, r["usage"]["completion_tokens"], r["usage"]["prompt_tokens"]

    for i in range(conc):  # warm-up (not timed)
        one(1000 + i)
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(conc) as ex:
        results = list(ex.map(one, range(n)))
    wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    toks = sum(r[1] for r in results)
    metrics = srv.metrics(KEY)
    srv.stop()
    cpu = "unknown"
    try:
        cpu = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")][0]
    except (OSError, IndexError):
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report = {
        "benchmark": "server_load",
        "date": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
        "commit": commit,
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "load_avg_at_end": os.getloadavg()[0],
                    "platform": platform.platform()},
        "model": "SmolLM2-135M-Instruct Q4_1 (default)",
        "workload": {"endpoint": "/v1/chat/completions", "concurrency": conc, "requests": n,
                     "max_tokens": max_tokens, "ignore_eos": True, "threads": int(threads)},
        "requests_per_s": n / wall,
        "output_tokens_per_s": toks / wall,
        "latency_s": {"p50": percentile(lat, 50), "p90": percentile(lat, 90), "p99": percentile(lat, 99),
                      "mean": statistics.mean(lat), "max": max(lat)},
        "wall_s": wall,
        "server_cache_hit_rate": metrics.get("sgp_cache_hit_rate"),
        "kv_pages_used_after": metrics.get("sgp_kv_pages_used"),
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
