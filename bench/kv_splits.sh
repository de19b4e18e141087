#!/usr/bin/env bash
# Split K/V loops chosen at launch: what splitting costs and gains.
#   bench/kv_splits.sh prepare [FLASHC]   here, with MLIR: compiles the
#       bundles into .carry/kv-splits (sm_90, dynamic sizes)
#   bench/kv_splits.sh run                on the GPU machine: builds the
#       runtime and prints two tables (flashc-run medians, each run also
#       checked against float64; a FAIL row is a wrong result)
# Table 1, prefill: default kernels with one strip a warp (able to split,
# launched with the runtime's choice, which is 1 at these sizes) against the
# same tiles compiled without splits. Table 2, decode (seq_q 1, GQA 32/8,
# head_dim 128, bf16): microseconds and K/V bandwidth per split count, 0
# being the runtime's choice, for the dynamic default (128x32, which does
# not split) and 64- and 16-row kernels that may.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/.carry/kv-splits
if [ "${1:-}" = prepare ]; then
  FLASHC=${2:-$ROOT/build/bin/flashc}
  mkdir -p "$DIR"; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  kernel() { # NAME DTYPE HEAD_DIM MASK CONFIG
    local t="memref<?x?x?x${3}x${2}>" mask=""
    [ "$4" = causal ] && mask=causal
    printf 'func.func @%s(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s %s : %s, %s, %s -> %s\n  return\n}\n' \
      "$1" "$t" "$t" "$t" "$t" "$mask" "$5" "$t" "$t" "$t" "$t" > "$tmp/k.mlir"
    "$FLASHC" "$tmp/k.mlir" --arch sm_90 --emit=bundle -o "$DIR/$1.bundle"
  }
  key() { sed -n "s/^$1 //p" "$2"; }
  for spec in "bf16 128 causal" "bf16 192 full" "f16 256 causal"; do
    set -- $spec
    name="${1}_d${2}_$3"
    kernel "$name" "$1" "$2" "$3" ""
    b="$DIR/$name.bundle"
    kernel "${name}_nosplit" "$1" "$2" "$3" \
      "config(#flash.config<block_m = $(key block_m "$b"), block_n = $(key block_n "$b"), stages = $(key stages "$b"), warps = $(key warps "$b"), strategy = mma_sync>)"
  done
  kernel bf16_d128_full bf16 128 full ""
  kernel decode_64x64 bf16 128 full \
    "config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)"
  kernel decode_16x64 bf16 128 full \
    "config(#flash.config<block_m = 16, block_n = 64, stages = 2, warps = 1, strategy = mma_sync, kv_splits = 16>)"
  ls "$DIR"
  exit 0
fi
[ "${1:-}" = run ] || { sed -n 2,13p "$0"; exit 2; }
BUILD=${FLASHC_RUNTIME_BUILD:-/tmp/flashc-runtime}
cmake -S "$ROOT" -B "$BUILD" -DFLASHC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release > /dev/null &&
  cmake --build "$BUILD" -j "$(nproc)" > /dev/null || exit 3
RUN=$BUILD/bin/flashc-run
nvidia-smi -L
# run BUNDLE ARGS...: "median_us splits" or "FAIL".
run() {
  local out; out=$("$RUN" "$@" --iters 50 --warmup 10 2>&1)
  if [ "$(tail -1 <<< "$out")" != PASS ]; then echo FAIL; return; fi
  local us splits
  us=$(sed -n 's/^time_us \([0-9.]*\).*/\1/p' <<< "$out")
  splits=$(sed -n 's/^kv_splits \([0-9]*\).*/\1/p' <<< "$out")
  echo "$us ${splits:-1}"
}
echo "## prefill: able to split (runtime's choice) vs compiled without"
echo "| kernel | shape b x h x s | split-capable us (splits) | unsplit us | ratio |"
echo "|---|---|---|---|---|"
for name in bf16_d128_causal bf16_d192_full f16_d256_causal; do
  for shape in "2 16 4096" "1 8 16384"; do
    set -- $shape
    read -r a sa <<< "$(run "$DIR/$name.bundle" --batch $1 --heads $2 --seq $3)"
    read -r u _ <<< "$(run "$DIR/${name}_nosplit.bundle" --batch $1 --heads $2 --seq $3)"
    ratio=$(python3 -c "print(f'{$u/$a:.3f}')" 2>/dev/null || echo -)
    echo "| $name | $1x$2x$3 | $a ($sa) | $u | $ratio |"
  done
done
echo
echo "## decode: seq_q 1, 32 query heads, 8 K/V heads, d128 bf16"
echo "| kernel | batch | seq_k | splits | us | GB/s (K+V) |"
echo "|---|---|---|---|---|---|"
for name in ${DECODE_KERNELS:-bf16_d128_full decode_64x64 decode_16x64}; do
  splits="0 1 2 4 8 16"
  [ $name = bf16_d128_full ] && splits=0 # 128x32, two strips: never splits
  for b in 1 8 32; do
    for sk in 4096 32768; do
      for ks in $splits; do
        read -r us chosen <<< "$(run "$DIR/$name.bundle" --batch $b --heads 32 \
          --kv-heads 8 --seq 1 --seq-k $sk --kv-splits $ks)"
        gbs=$(python3 -c "print(f'{2*$b*8*$sk*128*2/($us*1e-6)/1e9:.0f}')" 2>/dev/null || echo -)
        label=$ks; [ "$ks" = 0 ] && label="auto=$chosen"
        echo "| $name | $b | $sk | $label | $us | $gbs |"
      done
    done
  done
done
