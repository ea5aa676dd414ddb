#!/usr/bin/env bash
# Builds the CUDA backend on a GPU machine (standalone CMake, scripts/gpu) and runs every GPU
# correctness check: ctest, kernels vs float32 PyTorch, logits vs HF transformers and the CPU
# backend, compute-sanitizer memcheck. Usage: scripts/gpu_check.sh [BUILD_DIR] [OUT_DIR]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
OUT=${2:-$BUILD/out}
WORK=${SGP_GPU_WORK:-/tmp/sgp-gpu-check}
DEPS=${SGP_DEPS_INCLUDE:-$ROOT/.gpu_deps/include}
mkdir -p "$OUT" "$WORK"
cd "$ROOT"
export PYTHONUNBUFFERED=1

cmake -S scripts/gpu -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSGP_DEPS_INCLUDE="$DEPS" >"$WORK/cmake.log" 2>&1 \
  || { cat "$WORK/cmake.log"; exit 1; }
# -k 0: a broken CPU backend must not stop the CUDA targets from building.
cmake --build "$BUILD" -j"$(nproc)" -- -k 0 2>&1 | grep -E "error|warning|FAILED" | head -40
T=$BUILD/tests_cuda
[ -x "$T/cuda_kernels_test" ] && [ -x "$T/cuda_backend_test" ] || { echo "BUILD FAILED"; exit 1; }
status=0
fail() { echo "FAILED: $*"; status=1; }

echo "== ctest"
ctest --test-dir "$BUILD" --output-on-failure || fail ctest

echo "== backend and engine tests on the eager decode path (SGP_CUDA_GRAPHS=0; ctest ran them with graphs)"
for t in cuda_backend_test cuda_engine_test; do
  [ -x "$T/$t" ] || continue
  SGP_CUDA_GRAPHS=0 "$T/$t" >"$WORK/eager_$t.log" 2>&1 || { tail -30 "$WORK/eager_$t.log"; fail "eager $t"; }
  grep -E "test cases" "$WORK/eager_$t.log"
done

echo "== kernels vs float32 PyTorch"
rm -rf "$WORK/dump" && mkdir -p "$WORK/dump"
SGP_CUDA_DUMP="$WORK/dump" "$T/cuda_kernels_test" >/dev/null || fail kernels_test
python3 tools/ref_cuda_kernels.py "$WORK/dump" --json "$OUT/kernels_vs_torch.json" || fail kernels_vs_torch

for shape in llama3 smol; do
  echo "== $shape-shaped random model vs HF transformers fp32 and the CPU backend"
  python3 tools/ref_cuda_hf.py --out "$WORK/hf_$shape" --shape "$shape" || { fail "ref_cuda_hf $shape"; continue; }
  SGP_CUDA_HF_DIR="$WORK/hf_$shape" SGP_CUDA_RESULT="$WORK/hf_$shape.json" \
    "$T/cuda_backend_test" -tc='*Hugging Face*' || fail "hf $shape"
  # The same 63 decode steps on the eager path (graphs, the default, replay them in bucket 24
  # with four padding rows for the 20 prompts).
  SGP_CUDA_GRAPHS=0 SGP_CUDA_HF_DIR="$WORK/hf_$shape" SGP_CUDA_RESULT="$WORK/hf_eager_$shape.json" \
    "$T/cuda_backend_test" -tc='*Hugging Face*' || fail "hf eager $shape"
  if [ -x "$T/cuda_vs_cpu_test" ]; then
    SGP_CUDA_HF_DIR="$WORK/hf_$shape" SGP_CUDA_RESULT="$WORK/cpu_$shape.json" \
      "$T/cuda_vs_cpu_test" || fail "cpu $shape"
  else
    echo "cuda_vs_cpu_test not built (CPU backend unavailable)"
  fi
done

GGUF=${SGP_CUDA_GGUF:-$ROOT/.gpu_data/tiny.gguf}
if [ -f "$GGUF" ] && [ -x "$T/cuda_vs_cpu_test" ]; then
  echo "== GGUF (written by tools/ref_cuda_gguf.py): CUDA vs the CPU backend"
  SGP_CUDA_GGUF="$GGUF" SGP_CUDA_RESULT="$WORK/gguf.json" "$T/cuda_vs_cpu_test" -tc='*GGUF*' || fail gguf
else
  echo "== GGUF check skipped: no $GGUF (python3 tools/ref_cuda_gguf.py $GGUF where gguf is installed)"
fi

echo "== compute-sanitizer memcheck"
for t in cuda_kernels_test cuda_backend_test cuda_engine_test cuda_graph_test; do
  [ -x "$T/$t" ] || continue
  compute-sanitizer --tool memcheck --error-exitcode 3 "$T/$t" >"$WORK/memcheck_$t.log" 2>&1 || fail "memcheck $t"
  grep -E "ERROR SUMMARY|test cases" "$WORK/memcheck_$t.log"
done
# The device sampler's case with every RowSample feature (the others repeat its code paths).
if [ -x "$T/cuda_sampling_test" ]; then
  compute-sanitizer --tool memcheck --error-exitcode 3 "$T/cuda_sampling_test" -tc='*every RowSample*' \
    >"$WORK/memcheck_cuda_sampling_test.log" 2>&1 || fail "memcheck cuda_sampling_test"
  grep -E "ERROR SUMMARY|test cases" "$WORK/memcheck_cuda_sampling_test.log"
fi

python3 - "$WORK" "$OUT/check.json" "$status" <<'PY'
import glob, json, os, sys
work, out, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = {"passed": status == 0}
for f in sorted(glob.glob(os.path.join(work, "*.json"))):
    r[os.path.basename(f)[:-5]] = json.load(open(f))
for f in sorted(glob.glob(os.path.join(work, "memcheck_*.log"))):
    lines = [l.strip() for l in open(f) if "ERROR SUMMARY" in l]
    r[os.path.basename(f)[:-4]] = lines[-1] if lines else "no summary"
json.dump(r, open(out, "w"), indent=1)
PY
echo "== gpu_check: $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
