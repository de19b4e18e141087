#!/usr/bin/env bash
# On the GPU machine: for each bundle directory given (one tile configuration
# or strategy each, from test/GPU/make-bundles.sh with CONFIG64/CONFIG128),
# check the sm_90 kernels on a grid of shapes, then time them with
# bench/bench.py (f16). Prints one table per directory.
#   bench/trial.sh DIR...
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FLASHC_RUNTIME_BUILD:-/tmp/flashc-runtime}
cmake -S "$ROOT" -B "$BUILD" -DFLASHC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release > /dev/null &&
  cmake --build "$BUILD" -j "$(nproc)" > /dev/null || exit 3
for dir in "$@"; do
  pass=0; fail=0
  for bundle in "$dir"/*.sm_90.bundle; do
    for shape in "1 1 1" "3 8 17" "1 8 127" "3 1 513" "1 8 1000" "2 4 4096"; do
      set -- $shape
      if "$BUILD/bin/flashc-run" "$bundle" --batch $1 --heads $2 --seq $3 \
          --iters 0 --seed $RANDOM > /tmp/trial.out 2>&1; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1)); echo "FAIL $bundle $shape"; tail -3 /tmp/trial.out
      fi
    done
  done
  echo "== $dir: $pass passed, $fail failed"
  [ $fail -eq 0 ] && python3 "$ROOT/bench/bench.py" --runtime "$BUILD/lib/libflashc_runtime.so" \
    --bundles "$dir" --dtypes f16 --json "${OUT:-/tmp}/$(basename "$dir").json"
done
