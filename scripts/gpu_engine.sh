#!/usr/bin/env bash
# The engine on the GPU in one call: build (standalone CMake), the engine GPU test, G3/G4
# (bench/cuda/engine_bench), and - where Nsight Systems is installed - a kernel-time summary of a
# smaller G3 run, to see where a step's time goes. Usage: scripts/gpu_engine.sh [BUILD] [OUT]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
OUT=${2:-$BUILD/out}
DEPS=${SGP_DEPS_INCLUDE:-$ROOT/.gpu_deps/include}
mkdir -p "$OUT"
cd "$ROOT"
cmake -S scripts/gpu -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSGP_DEPS_INCLUDE="$DEPS" >/dev/null || exit 1
cmake --build "$BUILD" -j"$(nproc)" --target cuda_engine_test engine_bench 2>&1 | grep -E "error|FAILED" | head -20
"$BUILD/tests_cuda/cuda_engine_test" || echo "FAILED: cuda_engine_test"
echo "== G3/G4 (card: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))"
"$BUILD/bench_cuda/engine_bench" "$OUT/engine_bench.json" ${SGP_ENGINE_BENCH_ARGS:-}
if command -v nsys >/dev/null && [ "${SGP_PROFILE:-1}" = 1 ]; then
  echo "== nsys: kernel time of a 300-request G3 run"
  nsys profile -o "$OUT/g3" --force-overwrite true -t cuda "$BUILD/bench_cuda/engine_bench" \
    "$OUT/engine_bench_small.json" --requests 300 --programs 16 >/dev/null 2>&1
  nsys stats -q --report cuda_gpu_kern_sum --format csv "$OUT/g3.nsys-rep" 2>/dev/null |
    head -25 | cut -c1-220 | tee "$OUT/g3_kernels.csv"
  nsys stats -q --report cuda_gpu_mem_time_sum --format csv "$OUT/g3.nsys-rep" 2>/dev/null | head -8
  rm -f "$OUT"/g3.nsys-rep "$OUT"/g3.sqlite
else
  echo "== nsys not found: no kernel profile"
fi
