"""Reader for the tensor dumps written by tests/cuda/gpu_test_util.h (Dump)."""
import struct

import numpy as np


def read_dump(path):
    """Returns {name: numpy array}; bf16 arrives widened to float32 exactly."""
    with open(path, "rb") as f:
        data = f.read()
    out, o = {}, 0
    while o < len(data):
        (n,) = struct.unpack_from("<I", data, o)
        o += 4
        name = data[o:o + n].decode()
        o += n
        dtype, nd = struct.unpack_from("<II", data, o)
        o += 8
        dims = struct.unpack_from("<%dq" % nd, data, o)
        o += 8 * nd
        count = int(np.prod(dims)) if nd else 1
        if dtype == 0:
            arr = np.frombuffer(data, np.float32, count, o).copy()
            o += 4 * count
        elif dtype == 1:
            raw = np.frombuffer(data, np.uint16, count, o)
            arr = (raw.astype(np.uint32) << 16).view(np.float32).copy()
            o += 2 * count
        else:
            arr = np.frombuffer(data, np.int32, count, o).copy()
            o += 4 * count
        out[name] = arr.reshape(dims)
    return out
