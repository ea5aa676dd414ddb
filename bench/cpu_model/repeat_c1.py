#!/usr/bin/env python3
"""Runs bench/cpu_model's executable several times and writes one JSON with every run's figures.

C1 (decode tok/s x model-file bytes / read bandwidth) moves between runs on a shared machine;
this records each run's paired C1 figures, the load average before and after each run, and the
median and minimum over runs.

usage: bench/cpu_model/repeat_c1.py [--runs 3] [--threads 2] [--reps 5] [--decode 128]
         [--prefill 512] [--bench build-model/bench/cpu_model/cpu_model_bench]
         [--model models/SmolLM2-135M-Instruct.Q4_1.gguf] --out bench/results/<name>.json
"""
import argparse
import datetime
import json
import statistics
import subprocess
import tempfile


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--bench", default="build-model/bench/cpu_model/cpu_model_bench")
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = []
    for r in range(a.runs):
        before = loadavg()
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run([a.bench, "--model", a.model, "--threads", str(a.threads), "--reps",
                            str(a.reps), "--decode", str(a.decode), "--prefill", str(a.prefill),
                            "--out", tmp.name], check=True, stdout=subprocess.DEVNULL)
            res = json.load(open(tmp.name))
        res["machine"]["load_average_before"] = before
        res["machine"]["load_average_after"] = loadavg()
        runs.append(res)
        f = res["figures"]
        print(f"run {r + 1}: C1 {f['C1_bandwidth_fraction']:.3f} (runs "
              f"{', '.join(f'{c:.3f}' for c in f['C1_runs'])}), decode "
              f"{f['decode_tok_s_median']:.1f} tok/s, bandwidth {f['read_bandwidth_GBps']:.2f} "
              f"GB/s, load {before} -> {res['machine']['load_average_after']}")
    c1 = [r["figures"]["C1_bandwidth_fraction"] for r in runs]
    every = [c for r in runs for c in r["figures"]["C1_runs"]]
    out = {
        "benchmark": "cpu_model_c1_repeated",
        "date": datetime.date.today().isoformat(),
        "machine": runs[0]["machine"],
        "commit": runs[0]["commit"],
        "inputs": dict(runs[0]["inputs"], runs=a.runs),
        "figures": {"C1_median_of_runs": statistics.median(c1), "C1_min_of_runs": min(c1),
                    "C1_of_runs": c1, "C1_every_paired_rep": every,
                    "decode_tok_s_of_runs": [r["figures"]["decode_tok_s_median"] for r in runs],
                    "read_bandwidth_GBps_of_runs":
                        [r["figures"]["read_bandwidth_GBps"] for r in runs],
                    "C4_prefill_tok_s_of_runs":
                        [r["figures"]["C4_prefill_tok_s_median"] for r in runs],
                    "C3_peak_rss_MB_of_runs": [r["figures"]["C3_peak_rss_MB"] for r in runs],
                    "load_average_per_run": [[r["machine"]["load_average_before"],
                                              r["machine"]["load_average_after"]] for r in runs]},
        "runs": runs,
    }
    with open(a.out, "w") as fp:
        json.dump(out, fp, indent=2)
        fp.write("\n")
    print(f"C1 median {out['figures']['C1_median_of_runs']:.3f}, min "
          f"{out['figures']['C1_min_of_runs']:.3f} over {a.runs} runs; wrote {a.out}")


if __name__ == "__main__":
    main()
