#!/usr/bin/env bash
# The main job: install, build, compile models/vae/vae.gm to a native
# artifact, train it on Fashion-MNIST (GM_EPOCHS, default 2), and write a
# grid of samples, reconstructions, a latent traversal and the test-set
# bounds into out/vae/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh gmc gmrun
mkdir -p out/vae
echo "== gmc models/vae/vae.gm -o out/vae/vae.gmx"
time ./build/bin/gmc models/vae/vae.gm -o out/vae/vae.gmx
./build/bin/gmrun info out/vae/vae.gmx | grep -v '^param\|^slot'
echo "== gmrun train (${GM_EPOCHS:-2} epochs; metrics also in out/vae/run/metrics.jsonl)"
rm -rf out/vae/run
./build/bin/gmrun train out/vae/vae.gmx --epochs "${GM_EPOCHS:-2}" --seed 1 --out out/vae/run
ckpt=out/vae/run/checkpoint.safetensors
./build/bin/gmrun sample out/vae/vae.gmx --checkpoint $ckpt --n 64 --out out/vae/samples.png
./build/bin/gmrun sample out/vae/vae.gmx --checkpoint $ckpt --n 32 --reconstruct --out out/vae/reconstructions.png
./build/bin/gmrun traverse out/vae/vae.gmx --checkpoint $ckpt --out out/vae/traverse.png
echo "== gmrun eval (test set, IWAE with k = 100)"
./build/bin/gmrun eval out/vae/vae.gmx --checkpoint $ckpt --k 100 | tee out/vae/eval.json
