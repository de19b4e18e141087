#!/usr/bin/env bash
# wgmma-spills.sh FLASHC PTXAS OUTDIR: compiles attention with strategy
# wgmma for sm_90a at every head dim it takes (64, 128, 192, 256), f16
# without a mask and bf16 causal, dynamic sizes, and a strided bf16 one at
# 128; then with TMA copies (policy prefetch = tma) on the tiles the
# selection takes at 64, 128 and 256, and strided at 128; and prints one
# line per kernel with ptxas's spill figures.
set -euo pipefail
flashc=$1 ptxas=$2 out=$3
mkdir -p "$out"
kernel() { # NAME TYPE MASK [CONFIG POLICY]
  local src="$out/$1.mlir"
  printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s %s : %s, %s, %s -> %s\n  return\n}\n' \
    "$1" "$2" "$2" "$2" "$2" "$3" "${4:-}" "$2" "$2" "$2" "$2" > "$src"
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
tma() { # BLOCK_M BLOCK_N WARPS
  echo "config(#flash.config<block_m = $1, block_n = $2, stages = 2, warps = $3, strategy = wgmma>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = tma, min_blocks_per_sm = 1>)"
}
kernel tma_d64_f16_full "memref<?x?x?x64xf16>" "" "$(tma 64 128 4)"
kernel tma_d128_bf16_causal "memref<?x?x?x128xbf16>" causal "$(tma 128 128 8)"
kernel tma_d256_f16_full "memref<?x?x?x256xf16>" "" "$(tma 128 64 8)"
kernel tma_strided_d128 "memref<?x?x?x128xbf16, strided<[?, ?, ?, 1]>>" causal \
  "$(tma 128 128 8)"
