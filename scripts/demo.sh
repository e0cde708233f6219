#!/usr/bin/env bash
# The main job, for now: install, build, derive every model's training steps
# (losses, gradients, Adam/SGD steps) into out/<name>.mlir, and check the
# VAE's gradients against finite differences. Training on Fashion-MNIST and
# sample grids come with the runtime (gmrun).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh gmc gm-eval
mkdir -p out
for dir in models/*/; do
  name=$(basename "$dir")
  ./build/bin/gmc "$dir/$name.gm" -emit=train -o "out/$name.mlir"
  printf '%-12s %3d parameter tensors  %d nets  %d training steps  -> out/%s.mlir\n' "$name" \
    "$(grep 'gm.param @' "out/$name.mlir" | grep -vc slot_of)" "$(grep -c 'gm.net @' "out/$name.mlir")" \
    "$(grep -c 'gm.func @.*\.train\.' "out/$name.mlir")" "$name"
done
echo
./build/bin/gmc check-grad models/vae/vae.gm
