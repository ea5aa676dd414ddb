"""G3's reference: Hugging Face transformers `generate` throughput on the same card, with a
LlamaForCausalLM built from the Llama-3-8B config the engine bench uses (bf16, random weights).
Batch 64, every prompt 250 tokens, 200 new tokens each (min_new_tokens = max_new_tokens, greedy):
the workload's mean lengths with no padding waste, so this is HF at its most favourable.
Usage: python3 tools/ref_hf_generate.py OUT.json [--batch 64] [--input 250] [--output 200]"""
import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--input", type=int, default=250)
    ap.add_argument("--output", type=int, default=200)
    a = ap.parse_args()
    cfg = LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                      rope_theta=500000.0, max_position_embeddings=8192, tie_word_embeddings=False)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg)
    model.eval()
    ids = torch.randint(258, cfg.vocab_size, (a.batch, a.input), device="cuda")
    mask = torch.ones_like(ids)
    kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None)
    with torch.no_grad():
        model.generate(ids[:, :32], attention_mask=mask[:, :32], max_new_tokens=8,
                       min_new_tokens=8, **kw)
        torch.cuda.synchronize()
        t = time.perf_counter()
        out = model.generate(ids, attention_mask=mask, max_new_tokens=a.output,
                             min_new_tokens=a.output, **kw)
        torch.cuda.synchronize()
        secs = time.perf_counter() - t
    new = (out.shape[1] - a.input) * a.batch
    r = {"hf_batch": a.batch, "hf_input": a.input, "hf_output": a.output, "hf_seconds": secs,
         "hf_output_tokens": new, "hf_output_tok_s": new / secs,
         "torch": torch.__version__, "transformers": __import__("transformers").__version__}
    print(json.dumps(r))
    with open(a.out, "w") as f:
        json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
