"""Writes a random Llama model as safetensors plus Hugging Face fp32 reference logits.

Usage: python3 tools/ref_cuda_hf.py --out DIR [--shape llama3|smol] [--prompts 20] [--gen 64]
DIR/model/            config.json + model.safetensors (bf16), loaded by load_cuda_backend
DIR/prompts.bin       int32 n_prompts, n_gen; per prompt: int32 len, tokens[len], greedy[n_gen]
DIR/ref_logits.bin    float32 [n_prompts, n_gen, vocab]: row k predicts greedy[k]
The reference is LlamaForCausalLM in float32 holding the same bf16-rounded weights; greedy[]
comes from that model, so tests/cuda/cuda_backend_test.cpp can teacher-force it.
"""
import argparse
import json
import math
import os
import struct

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {
    # Llama-3 ratios (GQA 4, head_dim 128, llama3 RoPE scaling), scaled down.
    "llama3": dict(vocab_size=4096, hidden_size=1024, intermediate_size=2816, num_hidden_layers=4,
                   num_attention_heads=8, num_key_value_heads=2, head_dim=128,
                   tie_word_embeddings=False, rope_theta=500000.0,
                   rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                     high_freq_factor=4.0, original_max_position_embeddings=8192)),
    # SmolLM2-135M ratios (GQA 3, head_dim 64, tied embeddings), fewer layers.
    "smol": dict(vocab_size=2048, hidden_size=576, intermediate_size=1536, num_hidden_layers=6,
                 num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                 tie_word_embeddings=True, rope_theta=100000.0, rope_scaling=None),
}


def make_config(shape):
    s = dict(SHAPES[shape])
    theta, scaling = s.pop("rope_theta"), s.pop("rope_scaling")
    cfg = LlamaConfig(max_position_embeddings=131072, rms_norm_eps=1e-5, attention_bias=False,
                      mlp_bias=False, **s)
    # Transformers 5 keeps RoPE settings in rope_parameters; 4.x in rope_theta/rope_scaling.
    if hasattr(cfg, "rope_parameters") and cfg.rope_parameters is not None:
        params = dict(rope_type="default", rope_theta=theta)
        if scaling:
            params.update(scaling)
        cfg.rope_parameters = params
    else:
        cfg.rope_theta = theta
        cfg.rope_scaling = scaling
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", default="llama3", choices=sorted(SHAPES))
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print("seed", seed)
    torch.manual_seed(seed)
    cfg = make_config(args.shape)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.normal_(0.0, 1.0)
            else:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]))
    model = model.to(torch.bfloat16)
    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.out, "model")
    model.save_pretrained(model_dir, safe_serialization=True)
    # Transformers 5 writes only rope_parameters; also write the 4.x keys that published Llama
    # checkpoints carry, so loaders that know either form read the same RoPE.
    with open(os.path.join(model_dir, "config.json")) as f:
        cj = json.load(f)
    cj.setdefault("rope_theta", SHAPES[args.shape]["rope_theta"])
    if SHAPES[args.shape]["rope_scaling"] and "rope_scaling" not in cj:
        cj["rope_scaling"] = SHAPES[args.shape]["rope_scaling"]
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(cj, f, indent=1)
    ref = model.to(torch.float32).cuda().eval()
    ref.config._attn_implementation = "eager"
    inv = getattr(ref.model.rotary_emb, "inv_freq", None)
    if inv is not None:
        print("HF inv_freq[0, 10, -1]:", [float(inv[i]) for i in (0, 10, -1)])

    g = torch.Generator().manual_seed(seed + 1)
    V = cfg.vocab_size
    with open(os.path.join(args.out, "prompts.bin"), "wb") as pf, \
            open(os.path.join(args.out, "ref_logits.bin"), "wb") as lf, torch.no_grad():
        pf.write(struct.pack("<ii", args.prompts, args.gen))
        for _ in range(args.prompts):
            plen = int(torch.randint(8, 100, (1,), generator=g))
            prompt = torch.randint(0, V, (plen,), generator=g)
            ids = prompt.clone().cuda()[None]
            for _ in range(args.gen):
                nxt = ref(ids).logits[0, -1].argmax()
                ids = torch.cat([ids, nxt.view(1, 1)], 1)
            logits = ref(ids).logits[0, plen - 1: plen - 1 + args.gen].float().cpu()
            greedy = ids[0, plen:].cpu()
            pf.write(struct.pack("<i", plen))
            pf.write(prompt.to(torch.int32).numpy().tobytes())
            pf.write(greedy.to(torch.int32).numpy().tobytes())
            lf.write(logits.numpy().astype("float32").tobytes())
    print("wrote", args.out)


if __name__ == "__main__":
    main()
