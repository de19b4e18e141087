#!/usr/bin/env bash
# head-dim-spills.sh FLASHC PTXAS OUTDIR: compiles attention at every head
# dim the dialect names in docs (and two in between), f16 without a mask and
# bf16 causal, dynamic sizes, for sm_80/86/89/90 with the default (mma_sync)
# heuristic, and prints one line per kernel with ptxas's spill figures. Then
# the kernels nearest the register limit among those that may split K/V
# loops at launch: strided bf16 causal at 128 and 144, and decoding steps
# (static seq_q 1, the rest dynamic) at 144 and 192, strided at 128.
set -euo pipefail
flashc=$1 ptxas=$2 out=$3
mkdir -p "$out"
# kernel NAME QTYPE KTYPE MASK: writes the attention of Q and O of QTYPE, K
# and V of KTYPE, and prints its spill figures for each arch.
kernel() {
  local src="$out/$1.mlir"
  printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s : %s, %s, %s -> %s\n  return\n}\n' \
    "$1" "$2" "$3" "$3" "$2" "$4" "$2" "$3" "$3" "$2" > "$src"
  for arch in sm_80 sm_86 sm_89 sm_90; do
    "$flashc" "$src" --arch "$arch" --allow-spills --emit=ptx -o "$src.$arch.ptx"
    spills=$("$ptxas" -v -arch="$arch" "$src.$arch.ptx" -o /dev/null 2>&1 |
      grep -o '[0-9]* bytes stack frame, [0-9]* bytes spill stores, [0-9]* bytes spill loads')
    echo "$1 $arch: $spills"
  done
}
for d in 32 48 80 96 160 192 224 256; do
  for variant in f16:full bf16:causal; do
    t="memref<?x?x?x${d}x${variant%%:*}>" mask=""
    [ "${variant##*:}" = causal ] && mask=causal
    kernel "d${d}_${variant%%:*}_${variant##*:}" "$t" "$t" "$mask"
  done
done
s="strided<[?, ?, ?, 1]>"
for d in 128 144; do
  t="memref<?x?x?x${d}xbf16, $s>"
  kernel "strided_d$d" "$t" "$t" causal
done
for d in 144 192; do
  kernel "decode_d$d" "memref<?x?x1x${d}xbf16>" "memref<?x?x?x${d}xbf16>" ""
done
kernel decode_strided_d128 "memref<?x?x1x128xbf16, $s>" "memref<?x?x?x128xbf16, $s>" ""
