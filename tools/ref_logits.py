#!/usr/bin/env python3
"""Reference logits for the CPU backend: an independent float64 NumPy forward of a GGUF llama model.

Weights come from the `gguf` package's reader and dequantizer. Unlike the C++ backend (which
rotates adjacent pairs on the GGUF's permuted Q/K rows), this script un-permutes Q/K back to
the Hugging Face layout and applies rotate-half RoPE, so the two agree only if the permutation
is handled correctly. Prompt token ids come from a byte-level BPE (`tokenizers`) built from the
GGUF's own vocabulary and merges.

Writes tests/data/model/smollm2_logits.json (prompts, token ids, argmax, top-50 per position
for one prompt) and smollm2_logits.f32 (the last position's full logits of each prompt,
float32 little-endian, prompt after prompt).

usage: tools/ref_logits.py [models/SmolLM2-135M-Instruct.Q4_1.gguf] [tests/data/model]
"""
import json
import os
import sys

import gguf
import numpy as np

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, in a small village nestled between the mountains, there lived a",
    "Les élèves étudient le français à l'école. 日本語も少し話せます。 Emoji: 🎉🚀 and numbers 12345.",
    ("Photosynthesis is the process by which green plants and certain other organisms transform "
     "light energy into chemical energy. During photosynthesis in green plants, light energy is "
     "captured and used to convert water, carbon dioxide, and minerals into oxygen and "
     "energy-rich organic compounds. It would be impossible to overestimate the importance of "
     "photosynthesis in the maintenance of life on Earth. If photosynthesis ceased, there would "
     "soon be little food or other organic matter on Earth. Most organisms would"),
]
ALL_POSITIONS_PROMPT = 3  # top-50 of every position for this prompt
TOPK = 50


def field(r, key):
    f = r.fields[key]
    return f.contents()


def tokenizer_from_gguf(r):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    tokens = field(r, "tokenizer.ggml.tokens")
    merges = field(r, "tokenizer.ggml.merges")
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    types = field(r, "tokenizer.ggml.token_type")
    specials = [t for t, ty in zip(tokens, types) if ty == 3]
    tok.add_special_tokens(specials)
    return tok


class Model:
    def __init__(self, path):
        r = gguf.GGUFReader(path)
        self.r = r
        arch = field(r, "general.architecture")
        assert arch == "llama", arch
        p = arch + "."
        self.n_layer = int(field(r, p + "block_count"))
        self.n_embd = int(field(r, p + "embedding_length"))
        self.n_head = int(field(r, p + "attention.head_count"))
        self.n_head_kv = int(field(r, p + "attention.head_count_kv"))
        self.eps = float(field(r, p + "attention.layer_norm_rms_epsilon"))
        self.theta = float(field(r, p + "rope.freq_base"))
        self.hd = self.n_embd // self.n_head
        self.t = {}
        for t in r.tensors:
            self.t[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
        # GGUF llama Q/K rows are permuted (HF halves -> interleaved pairs); undo it.
        for i in range(self.n_layer):
            for name, heads in (("attn_q", self.n_head), ("attn_k", self.n_head_kv)):
                key = f"blk.{i}.{name}.weight"
                w = self.t[key]
                rows, cols = w.shape
                self.t[key] = (w.reshape(heads, self.hd // 2, 2, cols).swapaxes(1, 2)
                               .reshape(rows, cols))
        self.out = self.t.get("output.weight", self.t["token_embd.weight"])

    def rms(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x, pos):  # x [n, heads, hd], rotate-half (HF) convention
        half = self.hd // 2
        inv = 1.0 / self.theta ** (np.arange(half, dtype=np.float64) * 2.0 / self.hd)
        ang = pos[:, None] * inv[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)

    def forward(self, ids):
        n = len(ids)
        pos = np.arange(n, dtype=np.float64)
        x = self.t["token_embd.weight"][ids]
        group = self.n_head // self.n_head_kv
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for i in range(self.n_layer):
            b = f"blk.{i}."
            h = self.rms(x, self.t[b + "attn_norm.weight"])
            q = (h @ self.t[b + "attn_q.weight"].T).reshape(n, self.n_head, self.hd)
            k = (h @ self.t[b + "attn_k.weight"].T).reshape(n, self.n_head_kv, self.hd)
            v = (h @ self.t[b + "attn_v.weight"].T).reshape(n, self.n_head_kv, self.hd)
            q, k = self.rope(q, pos), self.rope(k, pos)
            k = np.repeat(k, group, axis=1)
            v = np.repeat(v, group, axis=1)
            s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(self.hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            a = np.einsum("hqk,khd->qhd", s, v).reshape(n, self.n_embd)
            x = x + a @ self.t[b + "attn_output.weight"].T
            h = self.rms(x, self.t[b + "ffn_norm.weight"])
            g = h @ self.t[b + "ffn_gate.weight"].T
            u = h @ self.t[b + "ffn_up.weight"].T
            x = x + (g / (1.0 + np.exp(-g)) * u) @ self.t[b + "ffn_down.weight"].T
        x = self.rms(x, self.t["output_norm.weight"])
        return x @ self.out.T


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else "tests/data/model"
    m = Model(path)
    tok = tokenizer_from_gguf(m.r)
    cases = []
    last_rows = []
    for i, text in enumerate(PROMPTS):
        ids = tok.encode(text).ids
        logits = m.forward(ids)
        last_rows.append(logits[-1].astype(np.float32))
        case = {"text": text, "ids": ids, "argmax": int(np.argmax(logits[-1]))}
        if i == ALL_POSITIONS_PROMPT:
            top = []
            for row in logits:
                idx = np.argsort(-row)[:TOPK]
                top.append({"ids": [int(j) for j in idx], "logits": [float(row[j]) for j in idx]})
            case["top_per_position"] = top
        cases.append(case)
        print(f"prompt {i}: {len(ids)} tokens, argmax {case['argmax']} "
              f"{tok.decode([case['argmax']])!r}")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "smollm2_logits.json"), "w") as f:
        json.dump({"model": os.path.basename(path), "n_vocab": int(m.out.shape[0]),
                   "cases": cases}, f, ensure_ascii=False, indent=1)
    np.stack(last_rows).astype("<f4").tofile(os.path.join(out_dir, "smollm2_logits.f32"))


if __name__ == "__main__":
    main()
