#!/usr/bin/env python3
"""Writes a model's vocabulary as raw bytes (one token a line, hex) for the constraint tests.

Usage: tools/make_constraint_vocab.py models/SmolLM2-135M-Instruct.Q4_1.gguf tests/data/constraint/smollm2_vocab.hex
Line i: "<kind> <hex bytes>" where kind is n (normal) or s (special/control: never emitted by constraints).
Byte-level BPE vocabularies (gpt2 model) store bytes through the GPT-2 byte-to-unicode map; this undoes it
independently of the C++ tokenizer, so the tests can cross-check the two.
"""
import sys
from gguf import GGUFReader


def gpt2_unicode_to_byte():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[chr(b)] = b
        else:
            mapping[chr(256 + extra)] = b
            extra += 1
    return mapping


def main():
    src, dst = sys.argv[1], sys.argv[2]
    r = GGUFReader(src)
    model = bytes(r.fields["tokenizer.ggml.model"].parts[-1]).decode()
    if model != "gpt2":
        sys.exit(f"unsupported tokenizer model {model!r} (only byte-level BPE)")
    f = r.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    u2b = gpt2_unicode_to_byte()
    with open(dst, "w") as out:
        for text, kind in zip(toks, types):
            if kind == 1:
                out.write("n " + bytes(u2b[c] for c in text).hex() + "\n")
            else:  # control / user-defined / unused: text, not bytes the model writes
                out.write("s " + text.encode().hex() + "\n")


if __name__ == "__main__":
    main()
