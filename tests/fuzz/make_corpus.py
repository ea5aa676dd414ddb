#!/usr/bin/env python3
"""Writes the fuzz seed corpora under tests/fuzz/corpus/<target>/ from the repo's examples and
test data, plus small GGUF and safetensors files built here byte by byte (valid ones and a few
deliberately broken ones). Rerun after the inputs change; the output is committed."""
import json
import os
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus"


def fresh(name):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def compile_corpus():
    d = fresh("compile")
    srcs = list((ROOT / "examples").glob("*.sgp")) + list((ROOT / "stdlib").rglob("*.sgp"))
    srcs += sorted((ROOT / "tests/data/compiler/errors").glob("*.sgp"))
    for p in srcs:
        rel = p.relative_to(ROOT).as_posix().replace("/", "_")
        shutil.copy(p, d / rel)


def tokenizer_corpus():
    d = fresh("tokenizer")
    texts = ["Hello, world!", "The quick brown fox's 42 jumps.\n\n", "héllo wörld 中文 🙂",
             "<|im_start|>user\nhi<|im_end|>", "\xa0 \t\r\n  x", "It'S 'll 've"]
    raw = [b"\xff\xfe abc \xc3(", b"a\xed\xa0\x80z\x00nul", "\u2581leading marks\u2581".encode()]
    n = 0
    for sel in (0x00, 0x01, 0x10, 0x11, 0x21):
        for t in [x.encode() for x in texts] + raw:
            (d / f"t{n:03d}").write_bytes(bytes([sel]) + t)
            n += 1


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_file(kvs, tensors, version=3, alignment=32):
    """kvs: list of (key, type, payload bytes); tensors: list of (name, dims, type, data)."""
    out = struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kvs))
    for k, t, payload in kvs:
        out += gguf_str(k) + struct.pack("<I", t) + payload
    off, offsets = 0, []
    for name, dims, ttype, data in tensors:
        out += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", x) for x in dims)
        out += struct.pack("<IQ", ttype, off)
        offsets.append(off)
        off = (off + len(data) + alignment - 1) // alignment * alignment
    out += b"\0" * ((-len(out)) % alignment)
    base = len(out)
    for (name, dims, ttype, data), o in zip(tensors, offsets):
        out += b"\0" * (base + o - len(out)) + data
    return out


def gguf_corpus():
    d = fresh("gguf")
    for p in [ROOT / "tests/data/model/dequant_golden.gguf", ROOT / "tests/data/tokenizer/spm_scores.gguf"]:
        shutil.copy(p, d / p.name)
    f32 = lambda *xs: b"".join(struct.pack("<f", x) for x in xs)
    strs = lambda xs: struct.pack("<IQ", 8, len(xs)) + b"".join(gguf_str(x) for x in xs)
    i32s = lambda xs: struct.pack("<IQ", 5, len(xs)) + b"".join(struct.pack("<i", x) for x in xs)
    arch = ("general.architecture", 8, gguf_str("llama"))
    cfg = [arch, ("llama.block_count", 4, struct.pack("<I", 1)),
           ("llama.embedding_length", 4, struct.pack("<I", 8)),
           ("llama.attention.head_count", 4, struct.pack("<I", 2)),
           ("llama.context_length", 4, struct.pack("<I", 64)),
           ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0))]
    vocab = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [chr(c) for c in range(33, 127)] + ["Ġ", "Ġt", "he"]
    tok = [("tokenizer.ggml.model", 8, gguf_str("gpt2")), ("tokenizer.ggml.tokens", 9, strs(vocab)),
           ("tokenizer.ggml.token_type", 9, i32s([3, 3, 3] + [1] * (len(vocab) - 3))),
           ("tokenizer.ggml.merges", 9, strs(["Ġ t", "h e"])),
           ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)),
           ("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2))]
    t = [("token_embd.weight", [8, 4], 0, f32(*range(32))), ("output_norm.weight", [8], 0, f32(*[1.0] * 8))]
    files = {
        "empty_v3.gguf": gguf_file([], []),
        "empty_v2.gguf": gguf_file([], [], version=2),
        "meta_only.gguf": gguf_file(cfg, []),
        "tokenizer.gguf": gguf_file(cfg + tok, []),
        "tensors.gguf": gguf_file(cfg, t),
        "full.gguf": gguf_file(cfg + tok + [("general.alignment", 4, struct.pack("<I", 64))], t, alignment=64),
        "f16_q8.gguf": gguf_file([arch], [("a", [32], 1, b"\0\x3c" * 32), ("b", [32], 8, b"\0\x3c" + bytes(range(32)))]),
    }
    good = files["full.gguf"]
    files["truncated.gguf"] = good[: len(good) // 2]
    files["bad_magic.gguf"] = b"GGUX" + good[4:]
    files["huge_count.gguf"] = good[:8] + struct.pack("<Q", 1 << 62) + good[16:]
    for name, b in files.items():
        (d / name).write_bytes(b)


def safetensors_file(tensors, meta=None):
    header, off, data = {}, 0, b""
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def safetensors_corpus():
    d = fresh("safetensors")
    f32 = lambda n: struct.pack(f"<{n}f", *[float(i) for i in range(n)])
    files = {
        "empty.safetensors": safetensors_file([]),
        "one.safetensors": safetensors_file([("w", "F32", [2, 3], f32(6))], {"format": "pt"}),
        "mixed.safetensors": safetensors_file([("a", "F16", [4], b"\0\x3c" * 4), ("b", "BF16", [2, 2], b"\x80\x3f" * 4),
                                               ("c", "F32", [], f32(1))]),
        "bad_dtype.safetensors": safetensors_file([("w", "I64", [1], b"\0" * 8)]),
        "past_end.safetensors": safetensors_file([("w", "F32", [4], f32(4))])[:-4],
        "shape_mismatch.safetensors": safetensors_file([("w", "F32", [5], f32(4))]),
    }
    files["huge_header_len.safetensors"] = struct.pack("<Q", 1 << 40) + b"{}"
    for name, b in files.items():
        (d / name).write_bytes(b)


def hf_folder_corpus():
    """tokenizer.json NUL tokenizer_config.json NUL config.json, from the test folders."""
    d = fresh("hf_folder")
    configs = [(ROOT / "tests/data/model" / m / "config.json").read_bytes()
               for m in ("tiny_llama3", "tiny_mistral", "tiny_qwen2")]
    n = 0
    for t in sorted((ROOT / "tests/data/tokenizer").iterdir()):
        if not (t / "tokenizer.json").exists():
            continue
        tok = (t / "tokenizer.json").read_bytes()
        cfg = t / "tokenizer_config.json"
        tok_cfg = cfg.read_bytes() if cfg.exists() else b"{}"
        (d / f"{t.name}_all").write_bytes(tok + b"\0" + tok_cfg + b"\0" + configs[n % len(configs)])
        (d / f"{t.name}_tokenizer_only").write_bytes(tok)
        n += 1
    for i, c in enumerate(configs):
        (d / f"config_only_{i}").write_bytes(b"\0\0" + c)


def regex_corpus():
    d = fresh("regex")
    lines = (ROOT / "tests/data/constraint/regexes.txt").read_text().splitlines()
    lines += [r"[^\x00-\x7f]{1,3}", r"(a|b)*c{2,}?", r"\p{L}+", r"[\u00e9-\u4e2d]", r"a{1000}", r"(((a)))|",
              r"\w+@\w+\.(com|org)", r"[", r"a**", r"\d{3,2}"]
    for i, line in enumerate(lines):
        (d / f"r{i:03d}").write_text(line)


def schema_corpus():
    d = fresh("schema")
    schemas = json.loads((ROOT / "tests/data/constraint/schemas.json").read_text())
    schemas += [{"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "integer"}}},
                {"anyOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"type": "integer", "minimum": 0}]},
                {"type": "string", "format": "date"}, {"type": "integer", "minimum": -5, "maximum": 300},
                {"type": "object", "additionalProperties": False}, {"type": "bogus"}, []]
    for i, s in enumerate(schemas):
        for opt in (0, 1):
            (d / f"s{i:03d}_{opt}").write_bytes(bytes([opt]) + json.dumps(s).encode())


if __name__ == "__main__":
    compile_corpus()
    tokenizer_corpus()
    gguf_corpus()
    safetensors_corpus()
    hf_folder_corpus()
    regex_corpus()
    schema_corpus()
    for d in sorted(OUT.iterdir()):
        print(d.name, len(list(d.iterdir())))
