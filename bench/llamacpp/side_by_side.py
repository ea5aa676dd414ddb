#!/usr/bin/env python3
"""C1/C4 side by side: sgp's CPU backend and llama.cpp on the same GGUF, threads and machine.

llama.cpp comes from the PyPI package llama-cpp-python, which builds llama.cpp from source
(native CPU flags, no multimodal library) into a scratch virtual environment,
build/venv-llamacpp by default (ignored by git; the first build takes 15+ minutes on 2 quiet
cores). Nothing of llama.cpp is vendored.

The two engines run alternately, `--rounds` times each, in this one process run: sgp through
bench/cpu_model's executable (decode of 128 tokens after a 32-token prompt, batch 1, and a
512-token prefill, each the median of its reps), llama.cpp through its Python binding with the
same shapes. Reported: medians over rounds, the ratios sgp / llama.cpp, C1's bandwidth fraction
(decode tok/s x file bytes / read bandwidth measured by the sgp bench in the same round) and
the load average before and after.

usage: bench/llamacpp/side_by_side.py [--model M] [--threads 2] [--rounds 2]
         [--bench build-model/bench/cpu_model/cpu_model_bench] [--venv build/venv-llamacpp]
         [--out bench/results/<date>-cpu-llamacpp.json]
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

LLAMA_CPP_VERSION = "0.3.36"

# Runs inside the llama.cpp venv: prints one JSON line with decode and prefill tok/s.
LLAMA_DRIVER = r"""
import json, sys, time
from llama_cpp import Llama
model, threads, decode, prefill, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
llm = Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=max(prefill, 32 + decode) + 16,
            n_batch=prefill, n_ubatch=prefill, logits_all=False, verbose=False)
prompt = [1000 + 37 * i for i in range(32)]
long_prompt = [500 + (i * 7919) % 40000 for i in range(prefill)]
def generate(n):
    llm.reset()
    llm.eval(prompt)
    t0 = time.perf_counter()
    for _ in range(n):
        nxt = int(llm.scores[llm.n_tokens - 1].argmax())
        llm.eval([nxt])
    return n / (time.perf_counter() - t0)
generate(16)
dec = [generate(decode) for _ in range(reps)]
pre = []
for _ in range(reps):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(long_prompt)
    pre.append(prefill / (time.perf_counter() - t0))
print(json.dumps({"decode_tok_s_runs": dec, "prefill_tok_s_runs": pre}))
"""


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ensure_venv(venv):
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py) and subprocess.run([py, "-c", "import llama_cpp"],
                                             capture_output=True).returncode == 0:
        return py
    print(f"building llama-cpp-python {LLAMA_CPP_VERSION} into {venv} (15+ minutes on 2 cores)")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    # Only libllama is needed: LLAVA_BUILD=OFF skips the multimodal library (half the build).
    env = dict(os.environ, CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF "
               "-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF",
               CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
    subprocess.run([py, "-m", "pip", "install", "--no-cache-dir",
                    f"llama-cpp-python=={LLAMA_CPP_VERSION}", "numpy"], check=True, env=env)
    return py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--bench", default="build-model/bench/cpu_model/cpu_model_bench")
    ap.add_argument("--venv", default="build/venv-llamacpp")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    py = ensure_venv(a.venv)
    load_before = loadavg()
    ours, theirs = [], []
    for r in range(a.rounds):
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run([a.bench, "--model", a.model, "--threads", str(a.threads), "--reps",
                            str(a.reps), "--decode", str(a.decode), "--prefill", str(a.prefill),
                            "--out", tmp.name], check=True, stdout=subprocess.DEVNULL)
            ours.append(json.load(open(tmp.name))["figures"])
        out = subprocess.run([py, "-c", LLAMA_DRIVER, a.model, str(a.threads), str(a.decode),
                              str(a.prefill), str(a.reps)], check=True, capture_output=True,
                             text=True).stdout
        theirs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"round {r + 1}: sgp decode {ours[-1]['decode_tok_s_median']:.1f} prefill "
              f"{ours[-1]['C4_prefill_tok_s_median']:.1f} | llama.cpp decode "
              f"{statistics.median(theirs[-1]['decode_tok_s_runs']):.1f} prefill "
              f"{statistics.median(theirs[-1]['prefill_tok_s_runs']):.1f} tok/s (load {loadavg()})")
    load_after = loadavg()
    file_bytes = os.path.getsize(a.model)
    med = statistics.median
    our_dec = med([o["decode_tok_s_median"] for o in ours])
    our_pre = med([o["C4_prefill_tok_s_median"] for o in ours])
    bw = med([o["read_bandwidth_GBps"] for o in ours]) * 1e9
    their_dec = med([x for t in theirs for x in t["decode_tok_s_runs"]])
    their_pre = med([x for t in theirs for x in t["prefill_tok_s_runs"]])
    c1_bw = our_dec * file_bytes / bw
    result = {
        "benchmark": "cpu_llamacpp_side_by_side",
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
                    "cores": sh("nproc"), "load_average_before": load_before,
                    # On a shared machine the run may be given a high-priority autogroup
                    # (echo -20 > /proc/self/autogroup in a new session): recorded here.
                    "autogroup": sh("cat /proc/self/autogroup 2>/dev/null"),
                    "load_average_after": load_after},
        "commit": sh("git rev-parse --short HEAD"),
        "llama_cpp_python": LLAMA_CPP_VERSION,
        "inputs": {"model": a.model, "model_file_bytes": file_bytes, "threads": a.threads,
                   "rounds": a.rounds, "reps": a.reps, "decode_tokens": a.decode,
                   "decode_prompt_tokens": 32, "prefill_tokens": a.prefill},
        "figures": {"sgp_decode_tok_s": our_dec, "llamacpp_decode_tok_s": their_dec,
                    "sgp_prefill_tok_s": our_pre, "llamacpp_prefill_tok_s": their_pre,
                    "read_bandwidth_GBps": bw / 1e9,
                    "C1_bandwidth_fraction": c1_bw,
                    "llamacpp_bandwidth_fraction": their_dec * file_bytes / bw,
                    "C1_ratio_vs_llamacpp": our_dec / their_dec,
                    "C4_ratio_vs_llamacpp": our_pre / their_pre},
        "rounds": {"sgp": ours, "llamacpp": theirs},
    }
    f = result["figures"]
    print(f"decode   sgp {our_dec:.1f}  llama.cpp {their_dec:.1f} tok/s   C1 ratio "
          f"{f['C1_ratio_vs_llamacpp']:.2f} (target >= 1.0), bandwidth fraction {c1_bw:.3f} "
          f"(llama.cpp {f['llamacpp_bandwidth_fraction']:.3f}; target >= 0.5)")
    print(f"prefill  sgp {our_pre:.1f}  llama.cpp {their_pre:.1f} tok/s   C4 ratio "
          f"{f['C4_ratio_vs_llamacpp']:.2f} (target >= 1.0)")
    print(f"load average before {load_before}, after {load_after}")
    out = a.out or f"bench/results/{result['date']}-cpu-llamacpp.json"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fp:
        json.dump(result, fp, indent=2)
        fp.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
