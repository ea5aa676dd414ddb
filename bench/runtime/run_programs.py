#!/usr/bin/env python3
"""Runs the bench/programs workloads through `sgrun run --batch` and writes
bench/results/<date>-cpu-programs.json. C2: the few-shot program with the radix cache on vs off
(throughput ratio, median of --repeats runs, both measured in this run on this machine)."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_batch(sgrun, program, inputs, extra):
    with tempfile.TemporaryDirectory() as d:
        out, trace = os.path.join(d, "out.jsonl"), os.path.join(d, "trace.jsonl")
        cmd = [sgrun, "run", program, "--batch", inputs, "--out", out, "--trace", trace,
               "--no-progress", "--quiet", "--seed", "1"] + extra
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, cwd=ROOT)
        secs = time.perf_counter() - t0
        rows = [json.loads(l) for l in open(out)]
        events = [json.loads(l) for l in open(trace)]
    stats = [e for e in events if e["type"] == "engine_stats"][-1]
    requests = [e for e in events if e["type"] != "engine_stats"]
    return {"seconds": secs, "lines": len(rows), "failed": sum("error" in r for r in rows),
            "requests": len(requests), "engine": stats,
            "outputs": [r.get("output") for r in rows]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sgrun", default=os.path.join(ROOT, "build", "sgrun"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--only", nargs="*", default=None,
                    help="run these workloads only, replacing their entries in today's file")
    args = ap.parse_args()
    inputs = os.path.join(ROOT, "bench", "programs", "inputs")
    subprocess.run(["python3", os.path.join(ROOT, "bench", "programs", "make_inputs.py"),
                    "--out", inputs, "--n", str(args.n)], check=True)
    common = ["--threads", args.threads, "--parallel", "16"]
    result = {"date": datetime.datetime.utcnow().isoformat() + "Z", "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(),
              "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
              "model": "SmolLM2-135M-Instruct.Q4_1.gguf", "workloads": {}}
    names = ["few_shot", "tree_of_thought", "multi_turn_chat", "parallel_expand"]
    path = os.path.join(ROOT, "bench", "results", datetime.date.today().isoformat() + "-cpu-programs.json")
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            raise SystemExit(f"unknown workloads: {sorted(unknown)}")
        if os.path.exists(path):  # keep the other workloads' entries (each says when it ran)
            old = json.load(open(path))
            for k in ("date", "commit"):
                for entry in old["workloads"].values():
                    entry.setdefault(k, old.get(k))
            result["workloads"] = old["workloads"]
        names = [n for n in names if n in args.only]
    for name in names:
        prog = os.path.join(ROOT, "bench", "programs", name + ".sgp")
        inp = os.path.join(inputs, name + ".jsonl")
        on = [run_batch(args.sgrun, prog, inp, common) for _ in range(args.repeats)]
        entry = {"radix_on": {"median_seconds": statistics.median(r["seconds"] for r in on),
                              "runs": [{k: v for k, v in r.items() if k != "outputs"} for r in on]}}
        if name == "few_shot":
            off = [run_batch(args.sgrun, prog, inp, common + ["--no-radix-cache"]) for _ in range(args.repeats)]
            entry["radix_off"] = {"median_seconds": statistics.median(r["seconds"] for r in off),
                                  "runs": [{k: v for k, v in r.items() if k != "outputs"} for r in off]}
            entry["C2_speedup"] = entry["radix_off"]["median_seconds"] / entry["radix_on"]["median_seconds"]
            entry["same_answers"] = on[0]["outputs"] == off[0]["outputs"]
            st = on[0]["engine"]
            entry["cache_hit_rate"] = st["cached_tokens"] / max(1, st["cached_tokens"] + st["prefill_tokens"])
        if name == "tree_of_thought":  # every step generated text (the bug: empty steps)
            paths = [o["best_path"] for r in on for o in r["outputs"] if o]
            entry["outputs"] = on[0]["outputs"]
            entry["empty_steps"] = sum(1 for p in paths for step in p if not step.strip())
        if args.only:
            entry["date"], entry["commit"] = result["date"], result["commit"]
        result["workloads"][name] = entry
        print(f"{name:18s} radix on {entry['radix_on']['median_seconds']:.2f} s"
              + (f"  off {entry['radix_off']['median_seconds']:.2f} s  C2 {entry['C2_speedup']:.2f}x"
                 if "radix_off" in entry else ""))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", path)


if __name__ == "__main__":
    main()
