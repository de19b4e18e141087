#!/usr/bin/env bash
# wgmma-spills.sh FLASHC PTXAS OUTDIR: compiles attention with strategy
# wgmma for sm_90a at every head dim it takes (64, 128, 192, 256), f16
# without a mask and bf16 causal, dynamic sizes, and a strided bf16 one at
# 128, and prints one line per kernel with ptxas's spill figures.
set -euo pipefail
flashc=$1 ptxas=$2 out=$3
mkdir -p "$out"
kernel() { # NAME TYPE MASK
  local src="$out/$1.mlir"
  printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s : %s, %s, %s -> %s\n  return\n}\n' \
    "$1" "$2" "$2" "$2" "$2" "$3" "$2" "$2" "$2" "$2" > "$src"
  "$flashc" "$src" --arch sm_90a --mma wgmma --allow-spills --emit=ptx \
    -o "$src.ptx"
  spills=$("$ptxas" -v -arch=sm_90a "$src.ptx" -o /dev/null 2>&1 |
    grep -o '[0-9]* bytes stack frame, [0-9]* bytes spill stores, [0-9]* bytes spill loads')
  echo "$1 sm_90a: $spills"
}
for d in 64 128 192 256; do
  kernel "d${d}_f16_full" "memref<?x?x?x${d}xf16>" ""
  kernel "d${d}_bf16_causal" "memref<?x?x?x${d}xbf16>" causal
done
kernel strided_d128 "memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>" causal
