#!/usr/bin/env bash
# What can be checked on a machine with an NVIDIA GPU today (docs/cuda.md),
# as one short run: the driver and devices gmrun sees, then every model's
# CUDA kernels compiled (gmc --target=cuda) and loaded on GPU 0 through the
# driver's JIT (gmrun cuda-check). No kernel is launched yet: gmrun has no
# CUDA executor. Builds first if build/ lacks the tools. Exits 1 if any model
# fails; prints one line per model.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/bin/gmc ] || [ ! -x build/bin/gmrun ]; then
  bash scripts/setup.sh && bash scripts/build.sh gmc gmrun || exit 1
fi
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null || true
build/bin/gmrun system | grep '^cuda:'
build/bin/gmrun system | grep -q '^cuda: device 0' || { echo "gpu-check: no GPU the CUDA driver sees"; exit 1; }
out=$(mktemp -d)
failed=0
for gm in models/*/*.gm; do
  name=$(basename "$gm" .gm)
  if ! build/bin/gmc "$gm" --target=cuda -o "$out/$name.gmx" 2> "$out/$name.err"; then
    echo "$name: gmc failed: $(head -3 "$out/$name.err")"; failed=1; continue
  fi
  line=$(build/bin/gmrun cuda-check "$out/$name.gmx" 2>&1) || failed=1
  echo "$name: $line"
done
rm -rf "$out"
exit $failed
