#!/usr/bin/env bash
# Packs an sgrun built here with the CUDA backend into .gpu_sgrun/ (ignored) for the GPU machine,
# whose image has nvcc and cuBLAS but not Boost, ANTLR or CLI11, so `sgrun serve` cannot be built
# there. The shared libraries it needs beyond glibc and CUDA go to .gpu_sgrun/lib, searched after
# the machine's own (scripts/gpu_sgrun.sh). Carry `.gpu_sgrun` in the device call.
# Usage: scripts/gpu_pack_sgrun.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DEST=.gpu_sgrun
[ -x "$BUILD/sgrun" ] || { echo "no $BUILD/sgrun: build it first (cmake --build $BUILD --target sgrun)"; exit 1; }
grep -q "SGP_CUDA:BOOL=ON" "$BUILD/CMakeCache.txt" || { echo "$BUILD was configured without CUDA"; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST/lib"
strip -o "$DEST/sgrun" "$BUILD/sgrun"
ldd "$BUILD/sgrun" | awk '/=> \// {print $3}' | while read -r lib; do
  case $(basename "$lib") in
    libc.so* | libm.so* | libdl.so* | librt.so* | libpthread.so* | ld-linux* | libcuda.so* | \
      libcublas* | libcudart* | libnvidia*) ;;
    *) cp -L "$lib" "$DEST/lib/" ;;
  esac
done
du -sh "$DEST"
ls "$DEST/lib"
