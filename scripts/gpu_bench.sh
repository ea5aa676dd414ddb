#!/usr/bin/env bash
# One call on a GPU machine: build, check correctness (scripts/gpu_check.sh), run the GPU
# benchmarks (bench/cuda, G6 through a carried sgrun, PyTorch references) and write bench/results/<date>-<card>-cuda.json.
# Usage: scripts/gpu_bench.sh [BUILD_DIR] [OUT_DIR]    (SGP_SKIP_CHECK=1 skips the checks)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
OUT=${2:-$BUILD/out}
mkdir -p "$OUT"
cd "$ROOT"
export PYTHONUNBUFFERED=1
check=skipped
if [ "${SGP_SKIP_CHECK:-0}" != 1 ]; then
  if scripts/gpu_check.sh "$BUILD" "$OUT"; then check=passed; else check=failed; fi
else
  cmake -S scripts/gpu -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSGP_DEPS_INCLUDE="${SGP_DEPS_INCLUDE:-$ROOT/.gpu_deps/include}" >/dev/null && \
    cmake --build "$BUILD" -j"$(nproc)" --target cuda_bench engine_bench >/dev/null || exit 1
fi
echo "== bench (card: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))"
if [ "${SGP_SKIP_KERNEL_BENCH:-0}" != 1 ]; then
  "$BUILD/bench_cuda/cuda_bench" "$OUT/cuda_bench.json" || exit 1
  python3 tools/ref_cuda_sdpa.py "$OUT/torch_sdpa.json" || echo "torch reference failed"
fi
echo "== G3/G4: the engine on the GPU"
"$BUILD/bench_cuda/engine_bench" "$OUT/engine_bench.json" || echo "engine bench failed"
echo "== G3 reference: HF transformers generate"
python3 tools/ref_hf_generate.py "$OUT/hf_generate.json" || echo "HF reference failed"
echo "== G6: sgrun serve on the GPU under open-loop load"
if [ -x .gpu_sgrun/sgrun ]; then
  # sgrun cannot be built here (no Boost/ANTLR/CLI11 in the image): scripts/gpu_pack_sgrun.sh
  # packs one built with nvcc on the development machine; carry .gpu_sgrun in the call.
  scripts/gpu_sgrun.sh serve --backend cuda --random-weights bench/cuda/llama3-8b-config.json \
    --no-auth --port 8123 >"$OUT/serve.log" 2>&1 &
  serve_pid=$!
  # Building the random 8B model and its KV pool takes a few seconds: wait for /health.
  python3 -c "
import time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen('http://127.0.0.1:8123/health', timeout=2); break
    except Exception:
        time.sleep(1)
"
  python3 bench/server/online_bench.py --url http://127.0.0.1:8123 --rates 1,4,16 \
    --requests "${SGP_G6_REQUESTS:-60}" --lengths sharegpt --input-len 42 --max-input-len 300 --output-len 200 \
    --note "Llama-3-8B shape random weights; input lengths in words (about 6 synthetic tokens each)" \
    --out "$OUT/g6.json" | tail -5 || echo "G6 bench failed"
  kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
else
  echo "G6 skipped: no .gpu_sgrun (scripts/gpu_pack_sgrun.sh on the build machine, then carry it)"
fi
python3 tools/ref_cuda_report.py --bench "$OUT/cuda_bench.json" --torch "$OUT/torch_sdpa.json" \
  --engine "$OUT/engine_bench.json" --hf "$OUT/hf_generate.json" --g6 "$OUT/g6.json" \
  --check "$OUT/check.json" --check-status "$check" --out-dir "$OUT"
