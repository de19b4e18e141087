#!/usr/bin/env bash
# Compiles the kernels the GPU suite runs: f16 and bf16, head_dim 64 and 128,
# causal and not, with dynamic batch/heads/seq, as PTX for sm_89 (JIT-compiled
# by the driver on the device) and sm_90. Run where flashc is built:
#   test/GPU/make-bundles.sh [build/bin/flashc] [out-dir]
set -euo pipefail
# CONFIG64 / CONFIG128: optional config(...) clauses per head_dim, to build
# the same set for another tile configuration or strategy.
FLASHC=${1:-build/bin/flashc}
OUTDIR=${2:-.carry/bundles}
CONFIG64=${CONFIG64:-}
CONFIG128=${CONFIG128:-}
mkdir -p "$OUTDIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dtype in f16 bf16; do
  for d in 64 128; do
    for mask in full causal; do
      causal=""
      [ "$mask" = causal ] && causal="causal"
      t="memref<?x?x?x${d}x${dtype}>"
      config=$CONFIG64
      [ "$d" = 128 ] && config=$CONFIG128
      cat > "$tmp/k.mlir" <<MLIR
func.func @${dtype}_d${d}_${mask}(%q: $t, %k: $t, %v: $t, %o: $t) {
  flash.attention %q, %k, %v -> %o $causal $config : $t, $t, $t -> $t
  return
}
MLIR
      for arch in sm_89 sm_90; do
        "$FLASHC" "$tmp/k.mlir" --arch "$arch" --emit=bundle \
          -o "$OUTDIR/${dtype}_d${d}_${mask}.${arch}.bundle"
      done
    done
  done
done
# Fewer warps than the heuristic uses: a round of cp.async copies is then
# 2 or 4 rows, not a whole number of 8-row swizzle groups (mma_sync).
for spec in "bf16 128 full 32 32 2 2" "f16 64 causal 16 64 3 1"; do
  set -- $spec
  t="memref<?x?x?x${2}x${1}>"; causal=""; [ "$3" = causal ] && causal="causal"
  cat > "$tmp/k.mlir" <<MLIR
func.func @${1}_d${2}_${3}_w${7}(%q: $t, %k: $t, %v: $t, %o: $t) {
  flash.attention %q, %k, %v -> %o $causal config(#flash.config<block_m = $4, block_n = $5, stages = $6, warps = $7, strategy = mma_sync>) : $t, $t, $t -> $t
  return
}
MLIR
  for arch in sm_89 sm_90; do
    "$FLASHC" "$tmp/k.mlir" --arch "$arch" --emit=bundle \
      -o "$OUTDIR/${1}_d${2}_${3}_w${7}.${arch}.bundle"
  done
done
ls "$OUTDIR" | wc -l
