#!/usr/bin/env bash
# Packs what a GPU machine needs to check the CUDA path without building
# (the lent GPU machines have CUDA, cuBLAS and cuDNN but no LLVM/MLIR, no
# oneDNN or OpenBLAS, and no network): gmrun, the libraries it loads beyond
# glibc and libstdc++, every model compiled with --target=cuda, and
# gpu-check.sh with its comparison script and PyTorch peer, into
# .gpu-bundle.tar.xz (ignored by git; a device run carries it):
#
#   bash scripts/gpu-bundle.sh          # here, after scripts/build.sh
#   tar -xJf .gpu-bundle.tar.xz && bash .gpu-bundle/gpu-check.sh   # there
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/bin/gmc ] || [ ! -x build/bin/gmrun ]; then
  echo "gpu-bundle: build first (bash scripts/setup.sh && bash scripts/build.sh)" >&2; exit 1
fi
out=.gpu-bundle
rm -rf "$out" .gpu-bundle.tar.xz
mkdir -p "$out/bin" "$out/lib" "$out/models"
cp build/bin/gmrun "$out/bin/"
for lib in $(ldd build/bin/gmrun | awk '/=>/ {print $3}'); do
  case $(basename "$lib") in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
# For any AVX2 CPU (-mcpu=x86-64-v3): the GPU machine's CPU is not this one,
# and gmrun refuses an artifact using an extension its CPU lacks.
for gm in models/*/*.gm; do
  build/bin/gmc "$gm" --target=cuda -mcpu=x86-64-v3 -o "$out/models/$(basename "$gm" .gm).gmx"
done
cp scripts/gpu-check.sh test/CodeGen/Inputs/close_runs.py "$out/"
mkdir -p "$out/bench"
cp bench/gpu_peer.py bench/vae_peer.py bench/dcgan_peer.py bench/peer_util.py "$out/bench/"
tar -cJf .gpu-bundle.tar.xz "$out"
rm -rf "$out"
echo "gpu-bundle: .gpu-bundle.tar.xz, $(du -h .gpu-bundle.tar.xz | cut -f1)"
