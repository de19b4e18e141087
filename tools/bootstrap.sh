#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build flashc (Debian's
# LLVM/MLIR 22, ninja, cmake, g++), then configures and builds into build/.
# Uses sudo when not root. Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(cmake ninja-build g++ llvm-22-dev llvm-22-tools libmlir-22-dev
          mlir-22-tools libzstd-dev zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build
