#!/usr/bin/env bash
# Installs what gm needs to build and test (Debian 12): LLVM/MLIR 19, lit and
# FileCheck, clang 19 and its sanitizer runtimes, ninja, nlohmann/json (gm's
# one JSON library, header-only), oneDNN and OpenBLAS (GEMM), and the
# Fashion-MNIST data. Skips apt
# entirely when everything is already there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS="libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools clang-19 lld-19 libclang-rt-19-dev \
      libfmt-dev libopenblas-dev libdnnl-dev zlib1g-dev libzstd-dev libedit-dev \
      nlohmann-json3-dev dataset-fashion-mnist cmake ninja-build python3"
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "gm setup: installing $PKGS" >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $PKGS >/dev/null
fi
