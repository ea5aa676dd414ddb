"""Writes a small random llama GGUF (Q8_0 attention, Q4_1 feed-forward, F16 embeddings, F32
norms, rope_freqs factors) for the GGUF path of tests/cuda/cuda_vs_cpu_test.cpp.

Usage: python3 tools/ref_cuda_gguf.py OUT.gguf [--seed N]   (needs the `gguf` package)
"""
import argparse

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import quants

V, E, L, H, HKV, D, F = 1024, 512, 3, 8, 2, 64, 1408


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("sgp-random-llama")
    w.add_context_length(4096)
    w.add_embedding_length(E)
    w.add_block_count(L)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)

    def mat(name, rows, cols, qtype):
        a = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
        if qtype == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, quants.quantize(a, qtype), raw_dtype=qtype)

    def vec(name, n, base=1.0, spread=0.1):
        w.add_tensor(name, (base + spread * rng.standard_normal(n)).astype(np.float32))

    w.add_tensor("token_embd.weight", rng.standard_normal((V, E)).astype(np.float16))
    vec("output_norm.weight", E)
    mat("output.weight", V, E, Q.Q8_0)
    # llama3-style per-frequency divisors, as llama.cpp's converter stores them.
    w.add_tensor("rope_freqs.weight", np.linspace(1.0, 8.0, D // 2).astype(np.float32))
    for i in range(L):
        p = f"blk.{i}."
        vec(p + "attn_norm.weight", E)
        vec(p + "ffn_norm.weight", E)
        mat(p + "attn_q.weight", H * D, E, Q.Q8_0)
        mat(p + "attn_k.weight", HKV * D, E, Q.Q8_0)
        mat(p + "attn_v.weight", HKV * D, E, Q.Q8_0)
        mat(p + "attn_output.weight", E, H * D, Q.Q8_0)
        mat(p + "ffn_gate.weight", F, E, Q.Q4_1)
        mat(p + "ffn_up.weight", F, E, Q.Q4_1)
        mat(p + "ffn_down.weight", E, F, Q.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", args.out)


if __name__ == "__main__":
    main()
