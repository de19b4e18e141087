#!/usr/bin/env bash
# Checks that a change to the code generator leaves its output unchanged:
# compiles a fixed set of kernels (the examples, the GPU suite's bundles and
# the configurations the suite does not reach: WMMA, 1-2 warps, 3 stages,
# split K/V loops, block_n 16) to PTX for sm_80, sm_86, sm_89, sm_90 and
# sm_90a (wgmma, with and without a producer warpgroup).
#
#   tools/ptx-identity.sh save DIR [FLASHC]     write DIR/<kernel>.<arch>.ptx
#   tools/ptx-identity.sh check DIR [FLASHC]    compare with a saved DIR
#
# Typical use: `save` on the commit before a refactoring, `check` after it.
# `check` prints the kernels whose PTX differs and exits 1 if any does.
set -euo pipefail
usage() { echo "usage: $0 save|check DIR [FLASHC]" >&2; exit 2; }
[ $# -ge 2 ] || usage
mode=$1 dir=$2 flashc=${3:-build/bin/flashc}
case "$mode" in save|check) ;; *) usage ;; esac
[ -x "$flashc" ] || { echo "$0: no flashc at '$flashc'" >&2; exit 2; }
if [ "$mode" = check ] && [ ! -d "$dir" ]; then
  echo "$0: no saved PTX in '$dir' (run '$0 save' first)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/ptx
[ "$mode" = save ] && { mkdir -p "$dir"; out=$dir; }
mkdir -p "$out"
archs=(sm_80 sm_86 sm_89 sm_90 sm_90a)

# compile NAME FILE: NAME.<arch>.ptx for every arch.
compile() {
  for arch in "${archs[@]}"; do
    "$flashc" "$2" --arch "$arch" --emit=ptx -o "$out/$1.$arch.ptx"
  done
}

# kernel NAME SHAPE DTYPE HEAD_DIM OPTIONS: one flash.attention over
# memref<SHAPExHEAD_DIMxDTYPE> with OPTIONS (causal, config(...)).
kernel() {
  local t="memref<${2}x${4}x${3}>"
  cat > "$work/k.mlir" <<MLIR
func.func @$1(%q: $t, %k: $t, %v: $t, %o: $t) {
  flash.attention %q, %k, %v -> %o $5 : $t, $t, $t -> $t
  return
}
MLIR
  compile "$1" "$work/k.mlir"
}
config() {
  echo "config(#flash.config<block_m = $1, block_n = $2, stages = $3," \
    "warps = $4, strategy = $5${6:+, kv_splits = $6}>)"
}

for example in examples/*.mlir; do
  compile "example_$(basename "$example" .mlir)" "$example"
done
for dtype in f16 bf16; do
  for d in 64 128; do
    kernel "${dtype}_d${d}_full" "?x?x?" "$dtype" "$d" ""
    kernel "${dtype}_d${d}_causal" "?x?x?" "$dtype" "$d" causal
    # 64x64 WMMA tiles at head_dim 128 exceed 99 KiB of shared memory.
    kernel "${dtype}_d${d}_wmma" "?x?x?" "$dtype" "$d" \
      "causal $(config 64 $((d == 64 ? 64 : 32)) 2 4 wmma)"
  done
done
kernel bf16_d128_w2 "?x?x?" bf16 128 "$(config 32 32 2 2 mma_sync)"
kernel f16_d64_causal_w1 "?x?x?" f16 64 "causal $(config 16 64 3 1 mma_sync)"
kernel f16_d128_s3 "?x?x?" f16 128 "$(config 128 32 3 8 mma_sync)"
kernel f16_d128_causal_s3 "?x?x?" f16 128 "causal $(config 128 32 3 8 mma_sync)"
kernel f16_d64_bn16 "?x?x?" f16 64 "$(config 128 16 2 8 mma_sync)"
kernel f16_d64_s1 "?x?x?" f16 64 "$(config 64 64 1 4 mma_sync)"
kernel bf16_d64_wmma_s3 "?x?x?" bf16 64 "$(config 64 32 3 4 wmma)"
kernel f16_d64_split2 "1x4x4096" f16 64 "$(config 64 64 3 4 mma_sync 2)"
kernel bf16_d128_causal_split3 "1x2x8192" bf16 128 \
  "causal $(config 64 64 2 4 mma_sync 3)"
kernel f16_d128_static "2x16x2048" f16 128 ""
# Head dims 192 (wgmma, every thread copying) and 256 (a producer
# warpgroup) on sm_90a; elsewhere mma_sync's padded and two-strip tiles.
kernel f16_d192_causal "?x?x?" f16 192 causal
kernel bf16_d256_full "?x?x?" bf16 256 ""
kernel f16_d64_static_causal "1x8x1000" f16 64 causal

count=$(ls "$out" | wc -l)
if [ "$mode" = save ]; then
  echo "ptx-identity: saved $count PTX files in $dir"
  exit 0
fi
differ=0
for file in "$dir"/*.ptx; do
  name=$(basename "$file")
  if [ ! -f "$out/$name" ]; then
    echo "missing: $name"; differ=1
  elif ! cmp -s "$file" "$out/$name"; then
    echo "differs: $name"; differ=1
  fi
done
for file in "$out"/*.ptx; do
  [ -f "$dir/$(basename "$file")" ] || { echo "new: $(basename "$file")"; differ=1; }
done
if [ "$differ" = 0 ]; then
  echo "ptx-identity: $count PTX files byte-identical"
fi
exit "$differ"
