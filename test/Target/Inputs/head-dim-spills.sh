#!/usr/bin/env bash
# head-dim-spills.sh FLASHC PTXAS OUTDIR: compiles attention at every head
# dim the dialect names in docs (and two in between), f16 without a mask and
# bf16 causal, dynamic sizes, for sm_80/86/89/90 with the default (mma_sync)
# heuristic, and prints one line per kernel with ptxas's spill figures.
set -euo pipefail
flashc=$1 ptxas=$2 out=$3
mkdir -p "$out"
for d in 32 48 80 96 160 192 224 256; do
  for variant in f16:full bf16:causal; do
    t="memref<?x?x?x${d}x${variant%%:*}>" mask=""
    [ "${variant##*:}" = causal ] && mask=causal
    src="$out/d$d.${variant%%:*}.mlir"
    printf 'func.func @d%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s : %s, %s, %s -> %s\n  return\n}\n' \
      "$d" "$t" "$t" "$t" "$t" "$mask" "$t" "$t" "$t" "$t" > "$src"
    for arch in sm_80 sm_86 sm_89 sm_90; do
      "$flashc" "$src" --arch "$arch" --allow-spills --emit=ptx -o "$src.$arch.ptx"
      spills=$("$ptxas" -v -arch="$arch" "$src.$arch.ptx" -o /dev/null 2>&1 |
        grep -o '[0-9]* bytes stack frame, [0-9]* bytes spill stores, [0-9]* bytes spill loads')
      echo "d$d ${variant} $arch: $spills"
    done
  done
done
