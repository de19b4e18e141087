#!/usr/bin/env bash
# Split K/V loops chosen at launch: what splitting costs and gains.
#   bench/kv_splits.sh prepare [FLASHC]   here, with MLIR: compiles the
#       bundles into .carry/kv-splits (sm_90, dynamic sizes)
#   bench/kv_splits.sh run                on the GPU machine (torch): builds
#       the runtime and prints two tables: bench/kv_splits.py (prefill:
#       default kernels with one strip a warp, able to split and launched
#       at the runtime's choice, against the same tiles compiled without
#       splits) and bench/decode.py (decode, seq_q 1, GQA 32/8, head_dim
#       128, bf16, against SDPA; needs FLASHC_CACHE_DIR warmed by
#       python/tests/warm_cache.py). PYTHON picks the interpreter.
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
  ls "$DIR"
  exit 0
fi
[ "${1:-}" = run ] || { sed -n 2,11p "$0"; exit 2; }
BUILD=${FLASHC_RUNTIME_BUILD:-/tmp/flashc-runtime}
cmake -S "$ROOT" -B "$BUILD" -DFLASHC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release > /dev/null &&
  cmake --build "$BUILD" -j "$(nproc)" > /dev/null || exit 3
nvidia-smi -L
echo "## prefill: able to split (runtime's choice) vs compiled without"
"${PYTHON:-python3}" "$ROOT/bench/kv_splits.py" \
  --runtime "$BUILD/lib/libflashc_runtime.so" --bundles "$DIR"
echo
echo "## decode: bench/decode.py (flashc.attention, the disk cache)"
FLASHC_LIBRARY_DIR="$BUILD/lib" "${PYTHON:-python3}" "$ROOT/bench/decode.py"
