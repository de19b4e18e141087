#!/usr/bin/env bash
# The modifiers on the GPU, in one call (needs the self-contained flashc of
# prepare-device.sh at $FLASHC, default .carry/flashc): every example of
# examples/mods with dynamic batch, heads and seq, compiled for the device
# and run with `flashc --run` at tails and odd shapes, both tensor-core
# strategies; the float64 reference evaluates the same regions. Prints one
# line per run and the counts; exit 0 only if all passed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FLASHC=${FLASHC:-$ROOT/.carry/flashc}
ARCH=${ARCH:-sm_90}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
run() { # NAME FILE FLAGS...
  local name=$1 file=$2; shift 2
  if "$FLASHC" "$file" --arch "$ARCH" --iters 0 -o "$tmp/k.bundle" --run "$@" \
      > "$tmp/out" 2>&1 && grep -q '^PASS$' "$tmp/out"; then
    pass=$((pass + 1)); echo "ok   $name $*"
  else
    fail=$((fail + 1)); echo "FAIL $name $*"; cat "$tmp/out"
  fi
}
for f in softcap alibi sliding_window_256 document_mask prefix_lm relative_bias; do
  sed 's/[0-9]*x16x[0-9]*x64xf16/?x?x?x64xf16/g' "$ROOT/examples/mods/$f.mlir" \
    > "$tmp/$f.mlir"
  for mma in mma_sync wmma; do
    run "$f" "$tmp/$f.mlir" --mma=$mma --batch 2 --heads 3 --seq 777 --seq-k 777
    run "$f" "$tmp/$f.mlir" --mma=$mma --batch 1 --heads 2 --seq 130 --seq-k 1000
    run "$f" "$tmp/$f.mlir" --mma=$mma --batch 2 --heads 1 --seq 1000 --seq-k 129
    run "$f" "$tmp/$f.mlir" --mma=$mma --batch 2 --heads 16 --seq 1 --seq-k 1
  done
  # With grouped-query attention (the regions see the query head).
  run "$f" "$tmp/$f.mlir" --batch 2 --heads 8 --kv-heads 2 --seq 300 --seq-k 555
done
for mma in mma_sync wmma; do
  for shape in "1 4 1 3000" "2 4 16 5000" "1 2 7 7" "1 2 40 17" "2 8 333 4096"; do
    set -- $shape
    run decode_bottom_right "$ROOT/examples/mods/decode_bottom_right.mlir" \
      --mma=$mma --batch "$1" --heads "$2" --seq "$3" --seq-k "$4"
  done
  run softcap_tiled "$ROOT/examples/tile/softcap_tiled.mlir" --batch 2 --heads 3 --seq 555 --seq-k 901
done
run decode_bottom_right "$ROOT/examples/mods/decode_bottom_right.mlir" \
  --batch 2 --heads 32 --kv-heads 8 --seq 4 --seq-k 3000
# Split K/V loops fixed at 2 to 16 splits (dynamic mma_sync kernels with
# one strip a warp may split; the runtime otherwise chooses): the merged
# LSE, splits that see no key, and modifiers on every split's share. The
# decode example's default tiles have two strips a warp and do not split,
# so its split runs name tiles that do.
sed 's/causal bottom_right/& config(#flash.config<block_m = 64, block_n = 64, stages = 2, warps = 4, strategy = mma_sync, kv_splits = 16>)/' \
  "$ROOT/examples/mods/decode_bottom_right.mlir" > "$tmp/decode_split.mlir"
for shape in "1 4 1 3000 16" "2 4 16 5000 3" "1 2 7 7 16" "2 8 333 4096 2"; do
  set -- $shape
  run decode_bottom_right "$tmp/decode_split.mlir" \
    --batch "$1" --heads "$2" --seq "$3" --seq-k "$4" --kv-splits "$5"
done
for f in softcap alibi sliding_window_256 document_mask; do
  run "$f" "$tmp/$f.mlir" --batch 1 --heads 2 --seq 130 --seq-k 1000 --kv-splits 5
done
# The static examples as written (2 x 16 x 1024, captures of fixed size).
for f in "$ROOT"/examples/mods/*.mlir; do
  case $f in *decode*|*4096*) continue ;; esac
  run "$(basename "$f" .mlir)" "$f"
done
echo "mods suite: $pass passed, $fail failed"
[ "$fail" = 0 ]
