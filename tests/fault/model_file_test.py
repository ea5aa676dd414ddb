#!/usr/bin/env python3
"""A missing, corrupt or truncated model at start: `sgrun run --model X` exits 1 with one clear
`error:` line on stderr (naming what is wrong), nothing on stdout, and no crash or hang.

The broken GGUF files are cut from the default model (header surgery by hand, so the test needs
no Python packages); the HF folders are built from the small tokenizer in tests/data.

usage: model_file_test.py SGRUN MODEL   (exit 77 = skipped: no model file)
"""
import os
import shutil
import struct
import subprocess
import sys

from fault_checks import HANG_GUARD, check, setup, verdict


def tensor_infos(data):
    """(name, n_dims offset, dims, type) of every tensor in a GGUF v2/v3 header."""
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
              12: "d"}

    def value(t):
        if t == 8:
            string()
        elif t == 9:
            et, n = take("I"), take("Q")
            for _ in range(n):
                value(et)
        else:
            take(scalar[t])

    assert take("I") == 0x46554747
    take("I")
    n_tensors, n_kv = take("Q"), take("Q")
    for _ in range(n_kv):
        string()
        value(take("I"))
    out = []
    for _ in range(n_tensors):
        name = string()
        at = pos
        dims = [take("Q") for _ in range(take("I"))]
        ttype = take("I")
        take("Q")
        out.append((name, at, dims, ttype))
    return out


def main():
    sgrun, model, work = setup("sgp_fault_mf_")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    real = open(model, "rb").read()
    infos = {name: (at, dims) for name, at, dims, _ in tensor_infos(real)}

    def gguf(name, data):
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def with_dims(tensor, dims):
        at, old = infos[tensor]
        assert len(dims) == len(old)
        b = bytearray(real)
        struct.pack_into("<I" + "Q" * len(dims), b, at, len(dims), *dims)
        return bytes(b)

    def folder(name, files):
        d = os.path.join(work, name)
        os.makedirs(d)
        for fname, content in files.items():
            if isinstance(content, str) and os.path.exists(content):
                shutil.copy(content, os.path.join(d, fname))
            else:
                with open(os.path.join(d, fname), "wb") as f:
                    f.write(content if isinstance(content, bytes) else content.encode())
        return d

    tok_json = os.path.join(root, "tests/data/tokenizer/smollm_bpe/tokenizer.json")
    config = ('{"architectures": ["LlamaForCausalLM"], "model_type": "llama", '
              '"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, '
              '"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 49152, '
              '"rms_norm_eps": 1e-5, "max_position_embeddings": 512}')
    q = "blk.0.attn_q.weight"
    cases = [
        # (what, --model path, words one of which the message must contain)
        ("missing file", os.path.join(work, "nope.gguf"), ["not found", "no such"]),
        ("empty file", gguf("empty.gguf", b""), ["truncated", "too small"]),
        ("bad magic", gguf("magic.gguf", b"GGUX" + real[4:1 << 20]), ["bad magic", "not a gguf file"]),
        ("truncated metadata", gguf("meta.gguf", real[:200_000]),
         ["truncated", "past the end", "more than the file can hold"]),
        ("truncated tensor data", gguf("data.gguf", real[:len(real) * 6 // 10]),
         ["truncated", "past the end", "beyond", "outside", "end of file"]),
        ("wrong tensor shape", gguf("shape.gguf", with_dims(q, [infos[q][1][0],
                                                               infos[q][1][1] // 2])),
         [q]),
        ("tensor larger than the file", gguf("huge.gguf", with_dims(q, [infos[q][1][0], 1 << 40])),
         [q, "past the end", "beyond", "outside", "truncated", "too large"]),
        ("HF folder without config.json", folder("noconfig", {"tokenizer.json": tok_json}),
         ["config.json"]),
        ("HF folder with garbage weights", folder("garbage", {
            "config.json": config, "tokenizer.json": tok_json,
            "model.safetensors": b"\xff" * 64}), ["safetensors", "header"]),
        ("empty folder", folder("empty", {}), ["config.json", "tokenizer.json"]),
    ]
    prog = os.path.join(root, "examples/hello.sgp")
    for what, path, words in cases:
        try:
            p = subprocess.run([sgrun, "run", prog, "--model", path, "--no-stream"],
                               capture_output=True, text=True, timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            check(False, f"{what}: sgrun hung")
            continue
        err = p.stderr
        lines = err.strip().splitlines()
        print(f"{what}: exit {p.returncode}: {err.strip()}", flush=True)
        check(p.returncode == 1, f"{what}: exit status 1 (got {p.returncode}; <0 is a signal)")
        check(p.stdout == "", f"{what}: nothing on stdout")
        check(len(lines) == 1 and lines[0].startswith("error: "),
              f"{what}: one 'error:' line on stderr")
        # The words never occur in the paths, so the match is on the message itself.
        check(any(w.lower() in err.lower() for w in words),
              f"{what}: the message names the problem (one of {words})")
    return verdict(work, "model file fault")


if __name__ == "__main__":
    sys.exit(main())
