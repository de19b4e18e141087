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
ls "$OUTDIR" | wc -l
