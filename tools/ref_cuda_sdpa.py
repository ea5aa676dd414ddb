"""PyTorch references for G5 on the same shapes as bench/cuda: SDPA flash prefill TFLOP/s and
SDPA decode bandwidth over contiguous KV. Usage: python3 tools/ref_cuda_sdpa.py OUT.json"""
import json
import sys

import torch
import torch.nn.functional as F
from triton.testing import do_bench

H, HKV, D = 32, 8, 128


def main():
    out = {}
    dev = "cuda"
    for T in (1024, 4096):
        q = torch.randn(1, H, T, D, device=dev, dtype=torch.bfloat16)
        k = torch.randn(1, HKV, T, D, device=dev, dtype=torch.bfloat16).repeat_interleave(H // HKV, 1)
        v = torch.randn(1, HKV, T, D, device=dev, dtype=torch.bfloat16).repeat_interleave(H // HKV, 1)
        with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.FLASH_ATTENTION):
            ms = do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                          warmup=25, rep=200, return_mode="median")
        flops = 4.0 * D * H * T * (T + 1) / 2
        out[f"torch_flash_prefill_T{T}_TFLOPs"] = flops / (ms * 1e-3) / 1e12
    for B in (32, 64, 128):
        ctx = 512
        q = torch.randn(B, H, 1, D, device=dev, dtype=torch.bfloat16)
        k = torch.randn(B, HKV, ctx, D, device=dev, dtype=torch.bfloat16)
        v = torch.randn(B, HKV, ctx, D, device=dev, dtype=torch.bfloat16)
        try:
            ms = do_bench(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                          warmup=25, rep=200, return_mode="median")
            out[f"torch_sdpa_decode_b{B}_ctx512_TBps"] = (2.0 * B * HKV * ctx * D * 2) / (ms * 1e-3) / 1e12
        except Exception as e:  # noqa: BLE001 - a missing backend is reported, not fatal
            out[f"torch_sdpa_decode_b{B}_error"] = str(e)[:200]
    for k_, v_ in out.items():
        print(f"{k_:40s} {v_}")
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
