"""Merges one GPU run (bench/cuda output, PyTorch references, correctness summary) into
bench/results/<date>-<card>-cuda.json with each figure under its PERFORMANCE.md id."""
import argparse
import datetime
import json
import os
import subprocess


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def card_name():
    try:
        return subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                       text=True).splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--engine", default="")
    ap.add_argument("--hf", default="")
    ap.add_argument("--g6", default="", help="bench/server/online_bench.py's JSON")
    ap.add_argument("--check", required=True)
    ap.add_argument("--check-status", default="unknown")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    bench, torch_ref, check = load(args.bench), load(args.torch), load(args.check)
    eng, hf, g6 = load(args.engine), load(args.hf), load(args.g6)
    card = card_name()
    r = {"card": card, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
         "commit": os.environ.get("SGP_COMMIT", "unknown"),
         "model": "Llama-3-8B shape, bf16, random weights (make_random_cuda_backend)",
         "correctness": args.check_status}
    if "G1" in bench:
        r["G1"] = bench["G1"]
    if "G2_b64" in bench and "G2_b256" in bench:
        r["G2"] = min(bench["G2_b64"], bench["G2_b256"])
    if "G5_decode" in bench:
        r["G5_decode"] = bench["G5_decode"]
    ours = bench.get("attn_prefill_T4096_TFLOPs")
    theirs = torch_ref.get("torch_flash_prefill_T4096_TFLOPs")
    if ours and theirs:
        r["G5_prefill"] = ours / theirs
    if eng.get("G3_output_tok_s") and hf.get("hf_output_tok_s"):
        r["G3"] = eng["G3_output_tok_s"] / hf["hf_output_tok_s"]
    if "G4" in eng:
        r["G4"] = eng["G4"]
        r["G4_hit_rate_of_optimum"] = eng.get("G4_hit_rate_of_optimum")
    if g6.get("G6"):
        # G6 is a report: TTFT / inter-token latency p50/p99 per request rate, and the ratio of
        # TTFT p50 at 1 req/s to one prefill alone (target <= 2).
        r["G6"] = {rate: {k: v.get(k) for k in ("ttft_p50_s", "ttft_p99_s", "itl_p50_s",
                                                 "itl_p99_s", "completed", "failed")}
                   for rate, v in g6["G6"].items()}
        r["G6_ttft_ratio"] = g6.get("G6_ttft_ratio")
    # Decode step time per batch size with CUDA graphs off (eager, sized to the batch), the
    # bucket's launches run eagerly (padded) and graphs on; G1/G2 above use the default mode.
    graphs = {}
    for b in (1, 64, 100, 256):
        row = {m: bench.get(f"decode_b{b}_{m}_step_ms") for m in ("graphs_off", "padded", "graphs_on")}
        if all(v is not None for v in row.values()):
            row["speedup"] = row["graphs_off"] / row["graphs_on"]
            graphs[f"b{b}"] = row
    if graphs:
        r["decode_graphs"] = graphs
        r["decode_graphs_default"] = bench.get("decode_graphs_default")
    if "G3_graph_replays" in eng:
        r["G3_graph_replays"] = eng["G3_graph_replays"]
    r["definitions"] = {
        "G1": "decode step, batch 1, ctx 512: bytes moved per step (weights read once + KV read "
              "+ KV/logits written) / step time / device copy bandwidth (read+written); logits "
              "stay on the device",
        "G2": "same fraction, min over batch 64 and 256 (each under G2_b64, G2_b256 in bench)",
        "G5_decode": "paged decode attention alone, Llama-3-8B heads, ctx 512, best of batch "
                     "32/64/128: KV bytes read / time / copy bandwidth",
        "G3": "engine output tok/s on 1000 ShareGPT-like requests (seeded lognormal lengths, "
              "greedy sampled on the device, ignore_eos) / HF transformers generate output tok/s "
              "at batch 64, 250 in / 200 out, same card, same run (engine_bench, ref_hf_generate)",
        "G4": "few-shot select programs/s (questions sharing a 600-token preamble, 4 choices "
              "scored per question) with the radix cache on / off, at the engine level",
        "G5_prefill": "causal prefill attention TFLOP/s, 1 x 4096 tokens, 32 heads x 128, ours / "
                      "torch SDPA flash on the same shape",
        "G6": "`sgrun serve --backend cuda --random-weights` (Llama-3-8B shape) driven by "
              "bench/server/online_bench.py: Poisson arrivals at 1, 4, 16 req/s, streaming "
              "/v1/completions, ShareGPT-like lengths; TTFT and inter-token latency p50/p99; "
              "G6_ttft_ratio = TTFT p50 at 1 req/s / one prefill alone",
    }
    r["bench"] = bench
    r["torch_reference"] = torch_ref
    r["check"] = check
    eng.pop("G3_lengths", None)
    r["engine_bench"] = eng
    r["hf_reference"] = hf
    if g6:
        r["online_bench"] = g6
    tag = "h100" if "H100" in card else ("h200" if "H200" in card else card.split()[-1].lower())
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    path = os.path.join(args.out_dir, f"{day}-{tag}-cuda.json")
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
    for k in ("card", "correctness", "G1", "G2", "G3", "G4", "G5_decode", "G5_prefill",
              "G6_ttft_ratio"):
        print(f"{k:12s} {r.get(k)}")
    for name, row in r.get("decode_graphs", {}).items():
        print(f"decode {name:5s} step ms: graphs off {row['graphs_off']:.3f}, padded "
              f"{row['padded']:.3f}, graphs on {row['graphs_on']:.3f} ({row['speedup']:.2f}x)")
    print("wrote", path)


if __name__ == "__main__":
    main()
