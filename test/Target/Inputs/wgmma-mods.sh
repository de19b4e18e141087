#!/usr/bin/env bash
# wgmma-mods.sh FLASHC EXAMPLES OUTDIR: compiles every modifier of
# EXAMPLES/mods at head_dims 64 and 128 (f16 and bf16, dynamic sizes) for
# sm_90a with the default tile selection, and the document mask without
# causal at 128, and prints one line per kernel. flashc refuses a kernel
# that spills, so every line means no spill.
set -euo pipefail
flashc=$1 examples=$2 out=$3
mkdir -p "$out"
compile() { # NAME SED-SCRIPT SOURCE
  sed -E "$2" "$3" > "$out/$1.mlir"
  "$flashc" "$out/$1.mlir" --arch sm_90a -q -o "$out/$1.bundle"
  echo "$1: compiled"
}
shape='s/memref<(2x16x1024|1x16x16384|\?x\?x\?)x64xf16>/memref<?x?x?xDIMxTYPE>/g'
for src in "$examples"/mods/*.mlir; do
  for dim in 64 128; do
    for type in f16 bf16; do
      compile "$(basename "$src" .mlir).$dim.$type" \
        "${shape/DIMxTYPE/${dim}x$type}" "$src"
    done
  done
done
for type in f16 bf16; do
  compile "document_mask_full.128.$type" \
    "${shape/DIMxTYPE/128x$type}; s/ causal / /" \
    "$examples/mods/document_mask.mlir"
done
