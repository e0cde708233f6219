#!/usr/bin/env bash
# What can be checked on a machine with an NVIDIA GPU (docs/cuda.md), as one
# short run, GPU 0:
#   1. the driver and devices gmrun sees;
#   2. the executor: VAE and DCGAN steps (gmrun run, seeded inputs, no data
#      set needed) on the GPU against the same artifact on the CPU, value by
#      value, and the seconds each took;
#   3. every model's CUDA kernels compiled (gmc --target=cuda) and loaded
#      through the driver's JIT (gmrun cuda-check).
# Builds first if build/ lacks the tools. Prints one line per check; exits 1
# if any fails. GPU_CHECK_STEPS sets the steps of 2 [20].
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
steps=${GPU_CHECK_STEPS:-20}

# 2. Steps on the GPU against the CPU. The GPU's reductions run in another
# order, its sqrt is sqrt.approx.f32 and its code contracts to fma, so values
# differ in the last bits and Adam carries that on: 1e-3 relative after 20
# steps flags a wrong kernel (off by far more) and not rounding.
run_both() { # model entry batch
  local model=$1 entry=$2 batch=$3 t0 t1 t2
  [ -f "$out/$model.gmx" ] || build/bin/gmc "models/$model/$model.gm" --target=cuda \
    -o "$out/$model.gmx" 2> "$out/$model.err" || { echo "$model: gmc failed: $(head -3 "$out/$model.err")"; failed=1; return; }
  t0=$(date +%s.%N)
  build/bin/gmrun run "$out/$model.gmx" --entry "$entry" --batch "$batch" --steps "$steps" > "$out/cpu.txt" || { failed=1; return; }
  t1=$(date +%s.%N)
  build/bin/gmrun run "$out/$model.gmx" --entry "$entry" --batch "$batch" --steps "$steps" --device cuda > "$out/gpu.txt" || { echo "$model $entry: gmrun --device cuda failed"; failed=1; return; }
  t2=$(date +%s.%N)
  line=$(python3 test/CodeGen/Inputs/close_runs.py "$out/gpu.txt" "$out/cpu.txt" 1e-3) || failed=1
  echo "$model $entry, batch $batch, $steps steps: $line; cpu $(python3 -c "print('%.2f' % ($t1 - $t0))") s," \
    "gpu $(python3 -c "print('%.2f' % ($t2 - $t1))") s"
}
run_both vae train.train.all 128
run_both dcgan game.train.discriminator 64
run_both dcgan game.train.generator 64
run_both dcgan generate.z 64

# 3. Every model's kernels through the driver's JIT.
for gm in models/*/*.gm; do
  name=$(basename "$gm" .gm)
  [ -f "$out/$name.gmx" ] || build/bin/gmc "$gm" --target=cuda -o "$out/$name.gmx" 2> "$out/$name.err" || {
    echo "$name: gmc failed: $(head -3 "$out/$name.err")"; failed=1; continue; }
  line=$(build/bin/gmrun cuda-check "$out/$name.gmx" 2>&1) || failed=1
  echo "$name: $line"
done
rm -rf "$out"
exit $failed
