#!/usr/bin/env bash
# Runs the sgrun packed by scripts/gpu_pack_sgrun.sh on the GPU machine: the machine's own
# libraries first (glibc, CUDA, cuBLAS), the packed ones for what it lacks - or first, when a
# machine library is too old for the binary (the loader does not fall back on a version error).
here=$(cd "$(dirname "$0")/.." && pwd)
cuda_libs=$(dirname "$(readlink -f "$(command -v nvcc)")")/../lib64
system="/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:$cuda_libs"
export LD_LIBRARY_PATH="$system:${LD_LIBRARY_PATH:-}:$here/.gpu_sgrun/lib"
if ! "$here/.gpu_sgrun/sgrun" --version >/dev/null 2>&1; then
  export LD_LIBRARY_PATH="$here/.gpu_sgrun/lib:$system"
fi
exec "$here/.gpu_sgrun/sgrun" "$@"
