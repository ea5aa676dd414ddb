#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang configuration and runs them.
#   scripts/fuzz.sh build            configure + build fuzz targets in $FUZZ_BUILD
#   scripts/fuzz.sh smoke            build, then the short ctest smoke runs (label `fuzz`)
#   scripts/fuzz.sh run [targets]    build, then each target for $FUZZ_SECONDS (default 600),
#                                    all at once under nice; logs and crashes in $FUZZ_BUILD/runs/
#                                    (FUZZ_NO_BUILD=1: use the binaries already built)
# Without clang++ it says so and exits 0: the gcc build still replays every seed and regression.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
JOBS=${JOBS:-$(nproc)}
TARGETS_ALL=(compile tokenizer gguf safetensors regex schema http)
mode=${1:-smoke}
shift || true

if ! command -v clang++ > /dev/null || ! command -v clang > /dev/null; then
  echo "fuzz.sh: clang not found, skipping the libFuzzer targets"
  exit 0
fi

build() {
  # Libraries get coverage instrumentation and sanitizers; only the fuzz executables link
  # libFuzzer itself. No CUDA: the fuzzed surfaces are all host code.
  # clang rejects one inline constructor in Debian's ANTLR 4.9 headers (InterpreterDataReader.h,
  # which the generated parser never uses): a copy of antlr4-runtime.h without that include,
  # found first through -I, keeps the system headers untouched.
  local shim="$PWD/$FUZZ_BUILD/antlr-shim"
  mkdir -p "$shim"
  sed '/misc\/InterpreterDataReader.h/d' /usr/include/antlr4-runtime/antlr4-runtime.h \
    > "$shim/antlr4-runtime.h"
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
  flags+=" -fno-sanitize-recover=undefined -g -I$shim"
  cmake -S . -B "$FUZZ_BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSGP_FUZZ=ON -DSGP_CUDA=OFF \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" > /dev/null
  cmake --build "$FUZZ_BUILD" -j"$JOBS" --target fuzz_targets
}

case "$mode" in
  build) build ;;
  smoke)
    build
    ctest --test-dir "$FUZZ_BUILD" -L fuzz --output-on-failure -j"$JOBS"
    ;;
  run)
    [ "${FUZZ_NO_BUILD:-0}" = 1 ] || build
    targets=("$@")
    [ ${#targets[@]} -eq 0 ] && targets=("${TARGETS_ALL[@]}")
    runs="$FUZZ_BUILD/runs"
    mkdir -p "$runs"
    pids=()
    for t in "${targets[@]}"; do
      mkdir -p "$runs/$t/corpus" "$runs/$t/crashes"
      regs=()
      [ -d "tests/fuzz/regressions/$t" ] && regs=("tests/fuzz/regressions/$t")
      nice -n 15 "$FUZZ_BUILD/tests/fuzz/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=30 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$runs/$t/crashes/" \
        "$runs/$t/corpus" "tests/fuzz/corpus/$t" "${regs[@]}" > "$runs/$t/log" 2>&1 &
      pids+=($!)
      echo "fuzz_$t: pid $! log $runs/$t/log"
    done
    status=0
    for i in "${!pids[@]}"; do
      if ! wait "${pids[$i]}"; then
        echo "fuzz_${targets[$i]}: FAILED (see $runs/${targets[$i]}/log)"
        status=1
      fi
    done
    for t in "${targets[@]}"; do
      execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$runs/$t/log" | awk '{print $2}')
      # crash-, leak-, oom- and timeout- files are failures; slow-unit- ones only flag slow inputs.
      bad=$(find "$runs/$t/crashes" -type f ! -name 'slow-unit-*' | wc -l)
      slow=$(find "$runs/$t/crashes" -type f -name 'slow-unit-*' | wc -l)
      echo "fuzz_$t: ${execs:-?} executions; failing inputs: $bad; slow inputs: $slow"
    done
    exit $status
    ;;
  *) echo "usage: $0 build|smoke|run [targets...]" >&2; exit 2 ;;
esac
