#!/usr/bin/env bash
# Compiles the kernels the GPU suite runs: f16 and bf16, head_dim 64 and 128
# (and 32, 80, 96, 160, 192, 256 without CONFIG64/CONFIG128), causal and not, with dynamic batch/heads/seq, as PTX for sm_89 (JIT-compiled
# by the driver on the device), sm_90 and sm_90a (wgmma where it applies,
# docs/Hopper.md). Run where flashc is built:
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
# bundle NAME DTYPE HEAD_DIM MASK CONFIG [LAYOUT]: NAME.sm_89.bundle,
# NAME.sm_90.bundle and NAME.sm_90a.bundle, dynamic sizes, CONFIG a config(...) clause or empty,
# LAYOUT a memref layout (default row-major).
bundle() {
  local t="memref<?x?x?x${3}x${2}${6:+, $6}>" causal=""
  [ "$4" = causal ] && causal="causal"
  cat > "$tmp/k.mlir" <<MLIR
func.func @$1(%q: $t, %k: $t, %v: $t, %o: $t) {
  flash.attention %q, %k, %v -> %o $causal $5 : $t, $t, $t -> $t
  return
}
MLIR
  for arch in sm_89 sm_90 sm_90a; do
    "$FLASHC" "$tmp/k.mlir" --arch "$arch" --emit=bundle \
      -o "$OUTDIR/$1.$arch.bundle"
  done
}
dims="64 128"
[ -z "$CONFIG64$CONFIG128" ] && dims="32 64 80 96 128 160 192 256"
for dtype in f16 bf16; do
  for d in $dims; do
    for mask in full causal; do
      config=$CONFIG64
      [ "$d" = 128 ] && config=$CONFIG128
      [ "$d" != 64 ] && [ "$d" != 128 ] && config=""
      bundle "${dtype}_d${d}_${mask}" "$dtype" "$d" "$mask" "$config"
    done
  done
done
# Fewer warps than the heuristic uses: a round of cp.async copies is then
# 2 or 4 rows, not a whole number of 8-row swizzle groups (mma_sync).
mma() {
  echo "config(#flash.config<block_m = $1, block_n = $2, stages = $3, warps = $4, strategy = mma_sync>)"
}
bundle bf16_d128_full_w2 bf16 128 full "$(mma 32 32 2 2)"
bundle f16_d64_causal_w1 f16 64 causal "$(mma 16 64 3 1)"
# Strided Q, K, V, O (flashc-run runs them on [batch, seq, heads, head_dim]
# storage through their strides).
strided="strided<[?, ?, ?, 1]>"
bundle f16_d64_causal_strided f16 64 causal "" "$strided"
bundle bf16_d128_full_strided bf16 128 full "" "$strided"
bundle f16_d80_full_strided f16 80 full "" "$strided"
# Varlen and paged kernels (the suite gives flashc-run their lengths):
# the examples, named varlen-* and paged-* so that the shape jobs skip them.
examples=$(cd "$(dirname "$0")/../../examples" && pwd)
for arch in sm_89 sm_90 sm_90a; do
  "$FLASHC" "$examples/varlen.mlir" --arch "$arch" --emit=bundle \
    -o "$OUTDIR/varlen-bf16-d128-causal.$arch.bundle"
  "$FLASHC" "$examples/paged.mlir" --arch "$arch" --emit=bundle \
    -o "$OUTDIR/paged-bf16-d128.$arch.bundle"
done
ls "$OUTDIR" | wc -l
