#!/usr/bin/env bash
# The producer ring (policy prefetch = producer, and = tma) against every
# thread copying, on the same wgmma tiles (bench/RESULTS.md, entries 26,
# 27 and 29).
#   bench/producer.sh prepare [FLASHC]   here, with MLIR: compiles dynamic-
#       shape sm_90a bundles into .carry/producer, each tile configuration
#       three times: DTYPE_dD_MASK_CONFIG.bundle (after_barrier),
#       DTYPE_dD_MASK_CONFIGproducer.bundle and DTYPE_dD_MASK_CONFIGtma.bundle;
#       and a few TMA kernels on strided [batch, seq, heads, head_dim]
#       operands into .carry/producer/strided (checked, not timed)
#   bench/producer.sh run                on the GPU machine (torch): builds
#       the runtime, checks every bundle with flashc-run against float64
#       (tails, GQA, seq_q != seq_k, splits), then times both kinds side by
#       side with cuDNN (bench/tile_sweep.py, one process). PYTHON picks
#       the interpreter.
# PRODUCER_DIR names another bundle directory (a subset, say).
set -uo pipefail
shopt -s nullglob # a missing strided/ adds no job
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${PRODUCER_DIR:-$ROOT/.carry/producer}
if [ "${1:-}" = prepare ]; then
  FLASHC=${2:-$ROOT/build/bin/flashc}
  mkdir -p "$DIR"; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  bundle() { # DTYPE HEAD_DIM MASK CONFIG LABEL SPLITS MIN_BLOCKS PREFETCH [DIR]
    local t="memref<?x?x?x${2}x${1}>" mask="" name out=${9:-$DIR}
    [ "$out" != "$DIR" ] && t="memref<?x?x?x${2}x${1}, strided<[?, ?, ?, 1]>>"
    [ "$3" = causal ] && mask=causal
    name="${1}_d${2}_${3}_$5"
    [ "$8" != after_barrier ] && name="${name}$8"
    printf 'func.func @k(%%q: %s, %%k: %s, %%v: %s, %%o: %s) {\n  flash.attention %%q, %%k, %%v -> %%o %s config(#flash.config<%s, strategy = wgmma, kv_splits = %s>) policy(#flash.policy<q = shared, stale_max_log2 = 0, prefetch = %s, min_blocks_per_sm = %s>) : %s, %s, %s -> %s\n  return\n}\n' \
      "$t" "$t" "$t" "$t" "$mask" "$4" "$6" "$8" "$7" "$t" "$t" "$t" "$t" \
      > "$tmp/k.mlir"
    "$FLASHC" "$tmp/k.mlir" --arch sm_90a -q -o "$out/$name.bundle"
  }
  mkdir -p "$DIR/strided"
  for dtype in f16 bf16; do
    for mask in full causal; do
      for prefetch in after_barrier producer tma; do
        bundle $dtype 64 $mask "block_m = 64, block_n = 128, stages = 2, warps = 4" \
          64x128x2 1 2 $prefetch
        bundle $dtype 128 $mask "block_m = 128, block_n = 128, stages = 2, warps = 8" \
          128x128x2 16 1 $prefetch
        bundle $dtype 256 $mask "block_m = 128, block_n = 64, stages = 2, warps = 8" \
          128x64x2 16 1 $prefetch
        # (A cp.async producer spills at head_dim 192: its copy rounds do
        # not take whole rows.)
        [ $prefetch = producer ] ||
          bundle $dtype 192 $mask "block_m = 128, block_n = 64, stages = 2, warps = 8" \
            128x64x2 16 1 $prefetch
      done
      bundle $dtype 128 $mask "block_m = 128, block_n = 128, stages = 2, warps = 8" \
        128x128x2 16 1 tma "$DIR/strided"
    done
  done
  ls "$DIR" "$DIR/strided" | grep -c bundle
  exit 0
fi
[ "${1:-}" = run ] || { echo "usage: $0 prepare [FLASHC] | run" >&2; exit 2; }
export PATH=/usr/local/cuda/bin:$PATH
PYTHON=${PYTHON:-/opt/torch/.venv/bin/python3}
B=/tmp/flashc-producer-rt
cmake -S "$ROOT" -B $B -DFLASHC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  > $B.log 2>&1 && cmake --build $B -j "$(nproc)" >> $B.log 2>&1 ||
  { tail -30 $B.log; exit 3; }
jobs=$(mktemp)
for f in "$DIR"/*.bundle "$DIR"/strided/*.bundle; do
  for s in 1 17 127 513 1000; do
    echo "$f --batch 2 --heads 3 --seq $s --seed $s" >> "$jobs"
  done
  echo "$f --batch 2 --heads 8 --kv-heads 2 --seq 777 --seed 5" >> "$jobs"
  echo "$f --batch 1 --heads 4 --seq 100 --seq-k 1000 --seed 6" >> "$jobs"
  echo "$f --batch 1 --heads 4 --seq 1000 --seq-k 100 --seed 7" >> "$jobs"
  grep -q '^kv_splits' "$f" &&
    echo "$f --batch 1 --heads 8 --seq 2048 --kv-heads 2 --kv-splits 5 --seed 8" >> "$jobs"
done
one() {
  if timeout 150 "$RUN" "$@" --iters 0 2>&1 | grep -q '^PASS'; then echo PASS
  else echo "FAIL $*"; fi
}
export -f one; export RUN=$B/bin/flashc-run
xargs -P 8 -L 1 bash -c 'one "$@"' _ < "$jobs" > "$jobs.out"
grep -v '^PASS' "$jobs.out"
echo "correctness: $(grep -c '^PASS' "$jobs.out") passed of $(wc -l < "$jobs")"
FLASHC_LIBRARY_DIR=$B/lib "$PYTHON" "$ROOT/bench/tile_sweep.py" "$DIR"
