#!/usr/bin/env bash
# Here (with MLIR): builds the self-contained flashc (FLASHC_STATIC=ON, in
# build-static/), packs it as .carry/flashc.xz, and compiles the suite's
# bundles into .carry/bundles. Carry .carry to the GPU machine and run
# test/GPU/suite.sh there.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -G Ninja -S . -B build-static -DFLASHC_STATIC=ON -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-static --target flashc
mkdir -p .carry
strip -o .carry/flashc build-static/bin/flashc
xz -T0 -6 -f .carry/flashc
test/GPU/make-bundles.sh build-static/bin/flashc .carry/bundles
ls -la .carry
