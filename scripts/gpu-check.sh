#!/usr/bin/env bash
# What can be checked on a machine with an NVIDIA GPU (docs/cuda.md), as one
# short run on GPU 0:
#   1. the driver and devices gmrun sees;
#   2. the executor: VAE and DCGAN steps (gmrun run, seeded inputs, no data
#      set needed) with --device cuda against the same artifact on the CPU,
#      value by value, the seconds each took, and where the work went;
#   3. every model's CUDA kernels loaded through the driver's JIT (gmrun
#      cuda-check);
#   4. speed: gm's VAE and DCGAN training steps on the GPU, in images/s,
#      against PyTorch eager and torch.compile on the same GPU
#      (bench/gpu_peer.py, where python3 has torch).
# Two ways to run it:
#   - in the repository: builds first if build/ lacks the tools (needs
#     Debian's LLVM 19; scripts/setup.sh) and compiles the models;
#   - from the bundle of scripts/gpu-bundle.sh (gmrun, its libraries and
#     every model compiled with --target=cuda), for a GPU machine that
#     cannot build: tar -xJf .gpu-bundle.tar.xz && bash .gpu-bundle/gpu-check.sh
# cuBLAS and cuDNN are found on the loader's path, else in Python's nvidia-*
# wheels. Prints one line per check; exits 1 if any fails. GPU_CHECK_STEPS
# sets the steps of 2 [20], GPU_CHECK_TIMED the timed steps of 4 [200].
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/bin/gmrun" ]; then
  # The bundle: its gmrun, libraries and compiled models.
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  gmrun="$here/bin/gmrun" models="$here/models" compare="$here/close_runs.py"
  peer="$here/bench/gpu_peer.py"
else
  cd "$here/.."
  if [ ! -x build/bin/gmc ] || [ ! -x build/bin/gmrun ]; then
    bash scripts/setup.sh && bash scripts/build.sh gmc gmrun || exit 1
  fi
  gmrun=build/bin/gmrun models=$(mktemp -d) compare=test/CodeGen/Inputs/close_runs.py
  peer=bench/gpu_peer.py
  for gm in models/*/*.gm; do
    build/bin/gmc "$gm" --target=cuda -o "$models/$(basename "$gm" .gm).gmx" 2> "$models/$(basename "$gm" .gm).err" ||
      echo "$(basename "$gm" .gm): gmc failed: $(head -3 "$models/$(basename "$gm" .gm).err")"
  done
fi
# NVIDIA's libraries from pip wheels (nvidia-cublas, nvidia-cudnn-cu13), when
# the loader does not know them.
for pair in "GMRT_CUBLAS libcublas.so.1[123]" "GMRT_CUDNN libcudnn.so.9"; do
  var=${pair%% *} pattern=${pair#* }
  if [ -z "${!var:-}" ] && ! ldconfig -p 2>/dev/null | grep -q "${pattern%%.so*}.so"; then
    found=$(python3 -c "import nvidia, os; print(os.pathsep.join(nvidia.__path__))" 2>/dev/null |
            tr ':' '\n' | while read -r d; do ls "$d"/*/lib/$pattern 2>/dev/null; done | head -1)
    if [ -n "$found" ]; then
      export "$var=$found" LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
  fi
done
nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null || true
"$gmrun" system | grep -E '^(cpu|cuda):'
"$gmrun" system | grep -q '^cuda: device 0' || { echo "gpu-check: no GPU the CUDA driver sees"; exit 1; }
out=$(mktemp -d)
failed=0
steps=${GPU_CHECK_STEPS:-20}

# 2. Steps on the GPU against the CPU. The GPU's reductions run in another
# order, its sqrt is sqrt.approx.f32 and its code contracts to fma, so values
# differ in the last bits and Adam carries that on: 1e-3 relative after 20
# steps flags a wrong kernel (off by far more) and not rounding.
run_both() { # model entry batch
  local model=$1 entry=$2 batch=$3 t0 t1 t2 line
  local art="$models/$model.gmx"
  [ -f "$art" ] || { echo "$model: no artifact"; failed=1; return; }
  t0=$(date +%s.%N)
  "$gmrun" run "$art" --entry "$entry" --batch "$batch" --steps "$steps" > "$out/cpu.txt" || { failed=1; return; }
  t1=$(date +%s.%N)
  "$gmrun" run "$art" --entry "$entry" --batch "$batch" --steps "$steps" --device cuda \
    > "$out/gpu.txt" 2> "$out/gpu.err" || { echo "$model $entry: --device cuda failed: $(tail -3 "$out/gpu.err")"; failed=1; return; }
  t2=$(date +%s.%N)
  line=$(python3 "$compare" "$out/gpu.txt" "$out/cpu.txt" 1e-3) || failed=1
  echo "$model $entry, batch $batch, $steps steps: $line; cpu $(python3 -c "print('%.2f' % ($t1 - $t0))") s," \
    "gpu $(python3 -c "print('%.2f' % ($t2 - $t1))") s"
  grep '^gmrun: ' "$out/gpu.err" | sed 's/^/  /'
}
run_both vae train.train.all 128
run_both dcgan game.train.discriminator 64
run_both dcgan game.train.generator 64

# 3. Every model's kernels through the driver's JIT.
for art in "$models"/*.gmx; do
  line=$("$gmrun" cuda-check "$art" 2>&1) || failed=1
  echo "$(basename "$art" .gmx): $line"
done
# 4. Speed. A step's time is the difference of a (20 + N)- and a 20-step
# run over N steps, so gmrun's start and the artifact's loading drop out.
timed=${GPU_CHECK_TIMED:-200}
step_seconds() { # model entry batch
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$gmrun" run "$models/$1.gmx" --entry "$2" --batch "$3" --steps 20 --device cuda > /dev/null 2>&1 || return 1
  t1=$(date +%s.%N)
  "$gmrun" run "$models/$1.gmx" --entry "$2" --batch "$3" --steps $((20 + timed)) --device cuda > /dev/null 2>&1 || return 1
  t2=$(date +%s.%N)
  python3 -c "print(max(1e-9, (($t2 - $t1) - ($t1 - $t0)) / $timed))"
}
if vae=$(step_seconds vae train.train.all 128); then
  echo "vae gm --device cuda: $(python3 -c "print('%.0f' % (128 / $vae))") img/s"
fi
if d=$(step_seconds dcgan game.train.discriminator 64) && g=$(step_seconds dcgan game.train.generator 64); then
  echo "dcgan gm --device cuda: $(python3 -c "print('%.0f' % (64 / ($d + $g)))") img/s (a discriminator and a generator step)"
fi
if python3 -c "import torch" 2> /dev/null; then
  python3 "$peer" --steps "$timed"
else
  echo "peer: python3 has no torch"
fi
rm -rf "$out"
exit $failed
