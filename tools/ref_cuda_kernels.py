"""Checks every CUDA kernel's dumped output against a float32 PyTorch reference.

Usage: SGP_CUDA_DUMP=DIR cuda_kernels_test; python3 tools/ref_cuda_kernels.py DIR [--json OUT]
Exit status 1 if any relative error ||out - ref|| / ||ref|| exceeds its tolerance.
"""
import argparse
import glob
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_cuda_dump import read_dump  # noqa: E402

BF16_TOL = 1e-2


def t(a):
    return torch.from_numpy(a).float()


def rel(out, ref):
    out, ref = out.double(), ref.double()
    if not torch.isfinite(out).all():
        return float("inf")
    return float((out - ref).norm() / ref.norm().clamp_min(1e-30))


def rope(x, pos, inv_freq, neox):
    """x: [T, heads, D] float32; rotation in float32."""
    ang = pos[:, None].float() * inv_freq[None, :]  # [T, D/2]
    c, s = ang.cos()[:, None, :], ang.sin()[:, None, :]
    d = x.shape[-1]
    if neox:
        a, b = x[..., : d // 2], x[..., d // 2:]
    else:
        a, b = x[..., 0::2], x[..., 1::2]
    ra, rb = a * c - b * s, b * c + a * s
    if neox:
        return torch.cat([ra, rb], -1)
    return torch.stack([ra, rb], -1).flatten(-2)


def slot_of(d, i):
    ps = d["pool"].shape[3]
    pos = int(d["tok_pos"][i])
    page = int(d["pages"][d["page_off"][d["tok_seq"][i]] + pos // ps])
    return page, pos % ps


def check_attention(d):
    q, pool = t(d["q"]), t(d["pool"])  # [T,H,D], [pages,2,Hkv,ps,D]
    T, H, D = q.shape
    hkv, ps = pool.shape[2], pool.shape[3]
    ref = torch.empty_like(q)
    for i in range(T):
        s, pos = int(d["tok_seq"][i]), int(d["tok_pos"][i])
        n_pages = (pos + ps) // ps
        pages = d["pages"][d["page_off"][s]: d["page_off"][s] + n_pages]
        kv = pool[torch.from_numpy(pages).long()]  # [n, 2, Hkv, ps, D]
        k = kv[:, 0].permute(1, 0, 2, 3).reshape(hkv, -1, D)[:, : pos + 1]
        v = kv[:, 1].permute(1, 0, 2, 3).reshape(hkv, -1, D)[:, : pos + 1]
        k = k.repeat_interleave(H // hkv, 0)
        v = v.repeat_interleave(H // hkv, 0)
        p = torch.softmax((q[i][:, None, :] @ k.transpose(1, 2)) / D ** 0.5, -1)
        ref[i] = (p @ v)[:, 0]
    return {"out": rel(t(d["out"]), ref)}


def check_rms_norm(d):
    x = t(d["x"]) + t(d["delta"])
    ref = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * t(d["weight"])
    return {"out": rel(t(d["out"]), ref), "x_after": rel(t(d["x_after"]), x)}


def check_rope(d, neox):
    qkv, pool = t(d["qkv"]), t(d["pool"])
    hkv = pool.shape[2]
    H = qkv.shape[1] - 2 * hkv
    pos = torch.from_numpy(d["tok_pos"])
    inv = t(d["inv_freq"])
    q_ref = rope(qkv[:, :H], pos, inv, neox)
    k_ref = rope(qkv[:, H: H + hkv], pos, inv, neox)
    v_ref = qkv[:, H + hkv:]
    k_got, v_got = torch.empty_like(k_ref), torch.empty_like(v_ref)
    for i in range(qkv.shape[0]):
        page, slot = slot_of(d, i)
        k_got[i] = pool[page, 0, :, slot]
        v_got[i] = pool[page, 1, :, slot]
    return {"q": rel(t(d["q_out"]), q_ref), "k": rel(k_got, k_ref), "v": rel(v_got, v_ref)}


def check_misc(d):
    gu = t(d["gate_up"])
    f = gu.shape[1] // 2
    act_ref = torch.nn.functional.silu(gu[:, :f]) * gu[:, f:]
    emb_ref = t(d["table"])[torch.from_numpy(d["tokens"]).long()]
    y_ref = t(d["x"]) @ t(d["w"]).T
    return {"silu_mul": rel(t(d["act"]), act_ref), "embed": rel(t(d["emb"]), emb_ref),
            "gemm_bf16": rel(t(d["y"]), y_ref), "gemm_f32out": rel(t(d["yf"]), y_ref),
            "gemv_bf16_m3": rel(t(d["y_skinny3"]), y_ref[:3])}


TOL = {"x_after": 1e-6, "embed": 0.0, "gemm_f32out": 1e-4, "v": 0.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--json")
    args = ap.parse_args()
    results, ok = {}, True
    files = sorted(glob.glob(os.path.join(args.dir, "*.bin")))
    if not files:
        print("no dumps in", args.dir)
        return 1
    for path in files:
        case = os.path.basename(path)[:-4]
        d = read_dump(path)
        if case.startswith("attention"):
            r = check_attention(d)
        elif case == "rms_norm":
            r = check_rms_norm(d)
        elif case.startswith("rope"):
            r = check_rope(d, case == "rope_neox")
        elif case == "misc":
            r = check_misc(d)
        else:
            continue
        for k, v in r.items():
            tol = TOL.get(k, BF16_TOL)
            good = v <= tol
            ok &= good
            results[f"{case}.{k}"] = v
            print(f"{case + '.' + k:36s} rel err {v:.3e}  (tol {tol:.0e})  {'ok' if good else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("all kernels within tolerance" if ok else "KERNEL CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
