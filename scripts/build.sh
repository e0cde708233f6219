#!/usr/bin/env bash
# Configures (once) and builds gm with clang 19 and ninja: into build/, or,
# with GM_SANITIZE=1, into build-asan/ with AddressSanitizer, UBSan and
# LeakSanitizer (our code only: the MLIR archives are not instrumented), with
# libFuzzer's coverage instrumentation and the fuzz targets of test/Fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
flags=()
if [ "${GM_SANITIZE:-0}" = 1 ]; then
  dir=build-asan
  san="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=$san"
         "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" -DGM_FUZZ=ON)
else
  flags=(-DCMAKE_BUILD_TYPE=Release)
fi
# Configured once; again when the flags above changed (a tree configured
# before the fuzz targets existed).
if [ ! -f "$dir/build.ninja" ] || { [ "$dir" = build-asan ] && ! grep -q '^GM_FUZZ:BOOL=ON' "$dir/CMakeCache.txt"; }; then
  cmake -G Ninja -S . -B "$dir" "${flags[@]}" \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir >/dev/null
fi
ninja -C "$dir" "$@"
