#!/usr/bin/env bash
# The main job, for now: install, build, and compile every model in models/
# to verified gm IR under out/ (training and sampling come with the runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh gmc
mkdir -p out
for dir in models/*/; do
  name=$(basename "$dir")
  ./build/bin/gmc "$dir/$name.gm" -emit=gm -o "out/$name.mlir"
  printf '%-12s %3d parameter tensors  %d nets  %d objectives  -> out/%s.mlir\n' "$name" \
    "$(grep -c 'gm.param @' "out/$name.mlir")" "$(grep -c 'gm.net @' "out/$name.mlir")" \
    "$(grep -c 'gm.objective @' "out/$name.mlir")" "$name"
done
