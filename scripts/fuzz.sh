#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang configuration and runs them.
#   scripts/fuzz.sh build            configure + build fuzz targets in $FUZZ_BUILD
#   scripts/fuzz.sh smoke            build, then the short ctest smoke runs (label `fuzz`)
#   scripts/fuzz.sh run [targets]    build, then each target for $FUZZ_SECONDS (default 600),
#                                    all at once under nice; logs and crashes in $FUZZ_BUILD/runs/
#                                    (FUZZ_NO_BUILD=1: use the binaries already built;
#                                    FUZZ_NICE, default 15; FUZZ_TIMEOUT: seconds one input may
#                                    take, default 120, wall clock, so it must allow for load)
# Without clang++ it says so and exits 0: the gcc build still replays every seed and regression.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_NICE=${FUZZ_NICE:-15}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-120}
JOBS=${JOBS:-$(nproc)}
TARGETS_ALL=(compile tokenizer gguf safetensors hf_folder regex schema http)
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
    > "$shim/antlr4-runtime.h.new"
  # Replaced only when it changes: a new timestamp would rebuild everything that includes it.
  if cmp -s "$shim/antlr4-runtime.h.new" "$shim/antlr4-runtime.h"; then
    rm "$shim/antlr4-runtime.h.new"
  else
    mv "$shim/antlr4-runtime.h.new" "$shim/antlr4-runtime.h"
  fi
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
  flags+=" -fno-sanitize-recover=undefined -g -I$shim"
  # Boost 1.74 enables co_await for clang only with libc++'s <experimental/coroutine>; clang 14
  # with libstdc++'s <coroutine> works (the interpreter, linked by the HTTP target, needs it).
  flags+=" -DBOOST_ASIO_HAS_CO_AWAIT=1"
  # clang 14's -fsanitize=function cannot compile coroutines ("Cannot represent a difference
  # across sections", llvm-project#49689); the rest of UBSan can.
  flags+=" -fno-sanitize=function"
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
      nice -n "$FUZZ_NICE" "$FUZZ_BUILD/tests/fuzz/fuzz_$t" -max_total_time="$FUZZ_SECONDS" \
        -timeout="$FUZZ_TIMEOUT" \
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
    # One JSON line per target in $runs/summary.jsonl (libFuzzer's final stats), and a line here.
    : > "$runs/summary.jsonl"
    for t in "${targets[@]}"; do
      final() { { grep -o "stat::$1: *[0-9]*" "$runs/$t/log" || true; } | awk '{print $2}'; }
      execs=$(final number_of_executed_units)
      # crash-, leak-, oom- and timeout- files are failures; slow-unit- ones only flag slow inputs.
      bad=$(find "$runs/$t/crashes" -type f ! -name 'slow-unit-*' | wc -l)
      slow=$(find "$runs/$t/crashes" -type f -name 'slow-unit-*' | wc -l)
      corpus=$(find "$runs/$t/corpus" -type f | wc -l)
      echo "fuzz_$t: ${execs:-?} executions; failing inputs: $bad; slow inputs: $slow"
      rate=$(final average_exec_per_sec)
      units=$(final new_units_added)
      rss=$(final peak_rss_mb)
      took=$({ grep -o 'Done [0-9]* runs in [0-9]* second' "$runs/$t/log" || true; } | awk '{print $5}')
      printf '{"target": "fuzz_%s", "limit_seconds": %s, "seconds": %s, "executions": %s, "execs_per_sec": %s, "new_units": %s, "corpus_files": %s, "peak_rss_mb": %s, "failing_inputs": %s, "slow_inputs": %s}\n' \
        "$t" "$FUZZ_SECONDS" "${took:-null}" "${execs:-null}" "${rate:-null}" "${units:-null}" "$corpus" \
        "${rss:-null}" "$bad" "$slow" >> "$runs/summary.jsonl"
    done
    exit $status
    ;;
  *) echo "usage: $0 build|smoke|run [targets...]" >&2; exit 2 ;;
esac
