#!/usr/bin/env bash
# The whole test suite from a bare machine: install, build, run lit, and end
# with one line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# Which machine this is, first: generated code and the BLAS kernel depend on
# the CPU, so a red run on a new machine starts here.
echo "gm test: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
bash scripts/setup.sh || exit 1
bash scripts/build.sh gmc gm-opt gm-eval gm-eval-f32 gmrt-test gmrt-conv-test gmrun gm-fake-cuda || exit 1
# A sanitized gmc and gmrun for the robustness tests (Robustness/sanitized*.test),
# and the libFuzzer targets (Fuzz/fuzz.test).
GM_SANITIZE=1 bash scripts/build.sh gmc gmrun gm-fuzz-gm gm-fuzz-safetensors gm-fuzz-artifact \
  gm-fuzz-idx gm-fuzz-npy || exit 1
echo "gm test: the machine as gm sees it (gmrun system; gmc --print-target):"
build/bin/gmrun system | sed 's/^/  /'
build/bin/gmc --print-target | sed 's/^/  gmc native: /'
log=$(mktemp)
# Every lit suite: test/ and the test/ folders beside the code.
suites=$(find build -name lit.site.cfg.py -printf '%h\n' | sort)
python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv $suites \
  --param asan_gmc="$PWD/build-asan/bin/gmc" --param asan_gmrun="$PWD/build-asan/bin/gmrun" \
  --param fuzz_bin="$PWD/build-asan/bin" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# lit's summary lines: "  Passed: 27 (100.00%)", or "  Passed     : 27" when
# several categories are listed; absent categories count 0.
count() {
  local n
  n=$(sed -n "s/^ *$1 *: *\([0-9]*\).*/\1/p" "$log" | tail -n 1)
  echo "${n:-0}"
}
passed=$(( $(count Passed) + $(count 'Expectedly Failed') ))
failed=$(( $(count Failed) + $(count 'Unexpectedly Passed') + $(count Unresolved) + $(count 'Timed Out') ))
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
