#!/usr/bin/env python3
"""Golden for dequantization: random blocks of each supported type, dequantized by the `gguf` package.

Writes tests/data/model/dequant_golden.gguf holding, for each type T, a tensor "T" of random
blocks (scale fields kept finite) and a float32 tensor "expected.T" with gguf's dequantization.
usage: tools/ref_dequant.py [out.gguf]
"""
import sys

import gguf
import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as Q

# Offsets of the fp16 scale fields inside each block.
HALVES = {Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
          Q.Q4_K: [0, 2], Q.Q6_K: [208]}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/model/dequant_golden.gguf"
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(out, "dequant-golden")
    rows, cols = 2, 512
    for t, halves in HALVES.items():
        elems, size = GGML_QUANT_SIZES[t]
        nblocks = rows * cols // elems
        raw = rng.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
        for at in halves:
            scale = (rng.standard_normal(nblocks) * 0.05).astype(np.float16)
            raw[:, at:at + 2] = scale.view(np.uint8).reshape(nblocks, 2)
        raw = raw.reshape(rows, cols // elems * size)
        w.add_tensor(t.name, raw, raw_dtype=t)
        expected = gguf.quants.dequantize(raw, t).astype(np.float32).reshape(rows, cols)
        w.add_tensor("expected." + t.name, expected)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
