#!/usr/bin/env python3
"""Tiny random-weight Hugging Face folders for Mistral, Llama-3 and Qwen2, with float64 logits.

Each model exercises what its family adds to the Llama forward: Mistral a sliding attention
window, Llama-3 the llama3 rope frequency scaling (with a small original context so that every
band - kept, smoothed, divided - occurs at head_dim 8), Qwen2 Q/K/V biases with tied embeddings
and a sliding window that its config switches off. The forward below is written from the
published model definitions (rotate-half RoPE on the Hugging Face row order, grouped-query
attention, SwiGLU), in float64, without Transformers and without the C++ code.

For each model it also computes the logits with the family's feature ignored and records how far
they are from the true ones, so a backend that skipped the feature would fail the test.

Writes tests/data/model/tiny_<name>/{config.json, model.safetensors, golden.json, golden.f32}
(golden.f32: logits of every position, float32 little-endian, row after row).

usage: tools/ref_hf_tiny.py [tests/data/model]
"""
import json
import math
import os
import struct
import sys

import numpy as np

N_TOKENS = 20


def models():
    base = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 64,
            "vocab_size": 96, "rms_norm_eps": 1e-5, "max_position_embeddings": 256}
    mistral = dict(base, architectures=["MistralForCausalLM"], model_type="mistral",
                   rope_theta=10000.0, sliding_window=5, tie_word_embeddings=False)
    llama3 = dict(base, architectures=["LlamaForCausalLM"], model_type="llama",
                  rope_theta=500000.0, tie_word_embeddings=False,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 256})
    qwen2 = dict(base, architectures=["Qwen2ForCausalLM"], model_type="qwen2",
                 rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                 sliding_window=4)
    return {"mistral": (mistral, 101), "llama3": (llama3, 102), "qwen2": (qwen2, 103)}


def make_weights(cfg, seed):
    rng = np.random.default_rng(seed)
    d, ff, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = cfg["head_dim"]
    qd, kvd = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    bias = cfg["model_type"] == "qwen2"
    w = {}

    def add(name, shape, base=0.0, scale=0.2):
        w[name] = (base + scale * rng.standard_normal(shape)).astype(np.float32)

    add("model.embed_tokens.weight", (v, d), scale=1.0)
    add("model.norm.weight", (d,), 1.0)
    if not cfg["tie_word_embeddings"]:
        add("lm_head.weight", (v, d))
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        add(p + "input_layernorm.weight", (d,), 1.0)
        add(p + "post_attention_layernorm.weight", (d,), 1.0)
        add(p + "self_attn.q_proj.weight", (qd, d), scale=0.4)
        add(p + "self_attn.k_proj.weight", (kvd, d), scale=0.4)
        add(p + "self_attn.v_proj.weight", (kvd, d))
        add(p + "self_attn.o_proj.weight", (d, qd))
        add(p + "mlp.gate_proj.weight", (ff, d))
        add(p + "mlp.up_proj.weight", (ff, d))
        add(p + "mlp.down_proj.weight", (d, ff))
        if bias:
            add(p + "self_attn.q_proj.bias", (qd,), scale=1.0)
            add(p + "self_attn.k_proj.bias", (kvd,), scale=1.0)
            add(p + "self_attn.v_proj.bias", (kvd,), scale=0.5)
    return w


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def inv_freq(cfg, llama3=True):
    hd = cfg["head_dim"]
    inv = 1.0 / cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    rs = cfg.get("rope_scaling")
    if not llama3 or not rs or rs.get("rope_type") != "llama3":
        return inv
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    wavelen = 2.0 * math.pi / inv
    out = np.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1.0 - smooth) * out / factor + smooth * out
    medium = (wavelen >= old / hi) & (wavelen <= old / lo)
    return np.where(medium, smoothed, out)


def forward(cfg, w, ids, window=True, llama3=True, bias=True):
    f = {k: v.astype(np.float64) for k, v in w.items()}
    n = len(ids)
    d, hd = cfg["hidden_size"], cfg["head_dim"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    eps = cfg["rms_norm_eps"]
    ang = np.arange(n, dtype=np.float64)[:, None] * inv_freq(cfg, llama3)[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rope(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return np.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g

    qi, ki = np.arange(n)[:, None], np.arange(n)[None, :]
    allowed = ki <= qi
    sw = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
    if window and sw:
        allowed &= ki > qi - sw
    mask = np.where(allowed, 0.0, -np.inf)
    x = f["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."

        def proj(name, h):
            y = h @ f[p + name + ".weight"].T
            if bias and p + name + ".bias" in f:
                y = y + f[p + name + ".bias"]
            return y

        h = rms(x, f[p + "input_layernorm.weight"])
        q = rope(proj("self_attn.q_proj", h).reshape(n, nh, hd))
        k = rope(proj("self_attn.k_proj", h).reshape(n, nkv, hd))
        v = proj("self_attn.v_proj", h).reshape(n, nkv, hd)
        k = np.repeat(k, nh // nkv, axis=1)
        v = np.repeat(v, nh // nkv, axis=1)
        s = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        x = x + np.einsum("hqk,khd->qhd", s, v).reshape(n, nh * hd) @ f[p + "self_attn.o_proj.weight"].T
        h = rms(x, f[p + "post_attention_layernorm.weight"])
        g, u = h @ f[p + "mlp.gate_proj.weight"].T, h @ f[p + "mlp.up_proj.weight"].T
        x = x + (g / (1.0 + np.exp(-g)) * u) @ f[p + "mlp.down_proj.weight"].T
    x = rms(x, f["model.norm.weight"])
    head = f.get("lm_head.weight", f["model.embed_tokens.weight"])
    return x @ head.T


def main():
    out_root = sys.argv[1] if len(sys.argv) > 1 else "tests/data/model"
    ignored = {"mistral": {"window": False}, "llama3": {"llama3": False},
               "qwen2": {"bias": False}}
    for name, (cfg, seed) in models().items():
        d = os.path.join(out_root, "tiny_" + name)
        os.makedirs(d, exist_ok=True)
        w = make_weights(cfg, seed)
        with open(os.path.join(d, "config.json"), "w") as fp:
            json.dump(cfg, fp, indent=1)
        write_safetensors(os.path.join(d, "model.safetensors"), w)
        ids = [int(t) for t in np.random.default_rng(seed + 1000).integers(0, cfg["vocab_size"], N_TOKENS)]
        logits = forward(cfg, w, ids)
        without = forward(cfg, w, ids, **ignored[name])
        diff = float(np.abs(logits - without).max())
        assert diff > 0.05, f"{name}: ignoring its feature moves the logits by only {diff}"
        logits.astype("<f4").tofile(os.path.join(d, "golden.f32"))
        with open(os.path.join(d, "golden.json"), "w") as fp:
            json.dump({"ids": ids, "n_vocab": cfg["vocab_size"],
                       "feature": list(ignored[name])[0],
                       "max_abs_diff_if_feature_ignored": diff,
                       "max_abs_logit": float(np.abs(logits).max())}, fp, indent=1)
        print(f"{name}: {len(ids)} tokens, max |logit| {np.abs(logits).max():.3f}, "
              f"ignoring {list(ignored[name])[0]} moves logits by {diff:.3f}")


if __name__ == "__main__":
    main()
