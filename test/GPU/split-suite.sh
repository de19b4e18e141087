#!/usr/bin/env bash
# Split K/V loops on the GPU, quickly (suite.sh runs the same jobs among
# all the others): every bundle of make-bundles.sh that may split, at split
# counts fixed from 1 to 16 and at the runtime's choice, on tails, GQA,
# splits that see no key, and a grid whose batch · splits would pass 65535;
# then compute-sanitizer on three splits. One line per run as it ends.
#   test/GPU/split-suite.sh [bundle-dir] [arch]   (default .carry/bundles sm_90)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUNDLES=${1:-$ROOT/.carry/bundles}
ARCH=${2:-sm_90}
BUILD=${FLASHC_RUNTIME_BUILD:-/tmp/flashc-runtime}
cmake -S "$ROOT" -B "$BUILD" -DFLASHC_RUNTIME_ONLY=ON \
  -DCMAKE_BUILD_TYPE=Release > "$BUILD.cmake.log" 2>&1 &&
  cmake --build "$BUILD" -j "$(nproc)" >> "$BUILD.cmake.log" 2>&1 ||
  { cat "$BUILD.cmake.log"; echo "runtime build failed"; exit 3; }
export RUN="$BUILD/bin/flashc-run"
jobs=$(mktemp); seed=1
for bundle in "$BUNDLES"/*."$ARCH".bundle; do
  grep -q '^kv_splits' "$bundle" || continue
  # batch heads seq kv_heads splits (0: the runtime's choice)
  for args in "1 2 1000 2 1" "1 2 1000 2 2" "2 3 4097 3 3" "1 1 1 1 16" \
      "3 8 127 8 5" "1 32 2000 8 16" "2 8 64 2 16" "8000 2 40 2 16" \
      "1 4 4096 4 0" "1 32 1 8 0"; do
    set -- $args; seed=$((seed + 1))
    echo "$bundle $1 $2 $3 $seed $4 $5" >> "$jobs"
  done
done
run_one() {
  local out; out=$(timeout 120 "$RUN" "$1" --batch "$2" --heads "$3" --seq "$4" \
    --seed "$5" --kv-heads "$6" --kv-splits "$7" --iters 0 2>&1)
  local tag="$(basename "$1" .bundle) b$2 h$3 s$4 kv$6 ks$7"
  if [ "$(tail -1 <<< "$out")" = PASS ]; then
    echo "ok   $tag $(grep -o 'kv_splits [0-9]*' <<< "$out") $(grep -o 'rel_l2_error [0-9.e+-]*' <<< "$out")"
  else
    echo "FAIL $tag"; tail -5 <<< "$out"
  fi
}
export -f run_one
xargs -P 8 -L 1 bash -c 'run_one "$@"' _ < "$jobs" | tee /tmp/split-suite.out
pass=$(grep -c '^ok' /tmp/split-suite.out); fail=$(grep -c '^FAIL' /tmp/split-suite.out)
echo "split runs: $pass passed, $fail failed"
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for bundle in "$BUNDLES"/bf16_d128_causal."$ARCH".bundle "$BUNDLES"/f16_d192_full."$ARCH".bundle; do
  for tool in memcheck racecheck; do
    if timeout 300 "$SAN" --tool $tool --error-exitcode 9 "$RUN" "$bundle" --batch 1 \
        --heads 2 --seq 300 --kv-splits 3 --iters 0 > /tmp/san.out 2>&1; then
      echo "sanitizer ok   $tool $(basename "$bundle")"
    else
      fail=$((fail + 1)); echo "SANITIZER FAIL $tool $(basename "$bundle")"; tail -20 /tmp/san.out
    fi
  done
done
"$BUILD/bin/runtime_errors" "$BUNDLES/bf16_d128_causal.$ARCH.bundle" || fail=$((fail + 1))
[ "$fail" = 0 ]
