#!/usr/bin/env bash
# packed-spills.sh FLASHC PTXAS OUTDIR: compiles varlen and paged attention
# (dynamic sizes, strided views as Python makes them) at the head dims and
# masks where two strips a warp spilled, for sm_80 and sm_90, and prints one
# line per kernel with ptxas's spill figures.
set -euo pipefail
flashc=$1 ptxas=$2 out=$3
mkdir -p "$out"
kernel() { # NAME HEAD_DIM MASK FORM
  local d=$2 src="$out/$1.mlir" t
  if [ "$4" = varlen ]; then
    t="memref<1x?x?x${d}xf16, strided<[?, ?, ?, 1]>>"
    printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s, %%cq: memref<?xi32>, %%ck: memref<?xi32>) {\n  flash.attention %%q, %%k, %%v -> %%o varlen(%%cq, %%ck : memref<?xi32>, memref<?xi32>) %s : %s, %s, %s -> %s\n  return\n}\n' \
      "$1" "$t" "$t" "$t" "$t" "$3" "$t" "$t" "$t" "$t" > "$src"
  else
    t="memref<?x?x?x${d}xf16, strided<[?, ?, ?, 1]>>"
    printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s, %%tb: memref<?x?xi32>, %%l: memref<?xi32>) {\n  flash.attention %%q, %%k, %%v -> %%o paged(%%tb, %%l : memref<?x?xi32>, memref<?xi32>) %s : %s, %s, %s -> %s\n  return\n}\n' \
      "$1" "$t" "$t" "$t" "$t" "$3" "$t" "$t" "$t" "$t" > "$src"
  fi
  for arch in sm_80 sm_90; do
    "$flashc" "$src" --arch "$arch" --allow-spills --emit=ptx -o "$src.$arch.ptx"
    spills=$("$ptxas" -v -arch=$arch "$src.$arch.ptx" -o /dev/null 2>&1 |
      grep -o '[0-9]* bytes stack frame, [0-9]* bytes spill stores, [0-9]* bytes spill loads')
    echo "$1 $arch: $spills"
  done
}
kernel varlen_d80 80 "" varlen
kernel varlen_d160 160 "" varlen
kernel paged_d64_causal 64 causal paged
kernel paged_d80 80 "" paged
kernel paged_d160 160 "" paged
kernel paged_d192_causal 192 causal paged
