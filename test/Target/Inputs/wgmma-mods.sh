#!/usr/bin/env bash
# wgmma-mods.sh FLASHC EXAMPLES OUTDIR: compiles every modifier of
# EXAMPLES/mods at head_dim 128 (f16 and bf16, dynamic sizes) for sm_90a
# with the default tile selection, and prints one line per kernel. flashc
# refuses a kernel that spills, so every line means no spill.
set -euo pipefail
flashc=$1 examples=$2 out=$3
mkdir -p "$out"
for src in "$examples"/mods/*.mlir; do
  for type in f16 bf16; do
    name=$(basename "$src" .mlir).$type
    sed -E "s/memref<(2x16x1024|1x16x16384|\?x\?x\?)x64xf16>/memref<?x?x?x128x$type>/g" \
      "$src" > "$out/$name.mlir"
    "$flashc" "$out/$name.mlir" --arch sm_90a -q -o "$out/$name.bundle"
    echo "$name: compiled"
  done
done
