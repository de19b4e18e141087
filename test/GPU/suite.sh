#!/usr/bin/env bash
# The GPU suite, in one call on a machine with a CUDA GPU (no MLIR needed):
# builds the runtime, runs every bundle of test/GPU/make-bundles.sh on every
# shape, runs compute-sanitizer (memcheck, racecheck) on one shape per
# (head_dim, causal), and prints the counts. Exit 0 only if all passed.
#   test/GPU/suite.sh [bundle-dir]        (default .carry/bundles)
# ARCH=sm_90 (or sm_89, sm_90a) runs the shape jobs and compute-sanitizer
# on that target's bundles only,
# and PART=shapes (or rest) only the shape jobs (or only what follows them:
# the runtime's error paths, compute-sanitizer, flashc --run), so that each
# part fits one 10-minute device call where the whole may not. SHARD=K/N
# runs every Nth shape job from the Kth (1 <= K <= N): the shape jobs of
# the sm_90a bundles alone took more than one call (the inputs and float64
# references of their large shapes), so N calls share them.
set -uo pipefail
shopt -s nullglob # a pattern that matches no bundle adds no job
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUNDLES=${1:-$ROOT/.carry/bundles}
LOG=${OUT:-/tmp}/gpu-suite.log
BUILD=${FLASHC_RUNTIME_BUILD:-/tmp/flashc-runtime}
cmake -S "$ROOT" -B "$BUILD" -DFLASHC_RUNTIME_ONLY=ON \
  -DCMAKE_BUILD_TYPE=Release > "$BUILD.cmake.log" 2>&1 &&
  cmake --build "$BUILD" -j "$(nproc)" >> "$BUILD.cmake.log" 2>&1 ||
  { cat "$BUILD.cmake.log"; echo "runtime build failed"; exit 3; }
RUN="$BUILD/bin/flashc-run"
nvidia-smi -L
: > "$LOG"
# One line per run: bundle batch heads seq seed [kv_heads [kv_splits
# [seq_k]]]. Runs go 6 at a time (the GPU has room; the float64 references
# keep the CPU cores busy).
jobs=/tmp/gpu-suite.jobs; : > "$jobs"; seed=1
ARCH=${ARCH:-}
# Varlen and paged bundles (varlen-*, paged-*) take their own jobs below.
packed() { case "$(basename "$1")" in varlen-*|paged-*) return 0 ;; esac; return 1; }
for bundle in "$BUNDLES"/*${ARCH:+.$ARCH}.bundle; do
  packed "$bundle" && continue
  # Head dims other than 64 and 128 (in the name: _d32_ ...) on fewer
  # sequence lengths: the float64 reference grows with head_dim.
  seqs="1 17 64 127 128 513 1000 4096"
  case "$bundle" in *_d64_*|*_d128_*) ;; *) seqs="1 17 127 513 1000" ;; esac
  for b in 1 3; do for h in 1 8; do
    for s in $seqs; do
      seed=$((seed + 1)); echo "$bundle $b $h $s $seed" >> "$jobs"
    done
  done; done
done
# Grouped-query attention (a 6th field: K/V heads; ratios 1, 4, 8, 32, on
# tails and causal), and grids whose batch · heads pass 65535 (heads go
# along y, batches along z).
for bundle in "$BUNDLES"/*_d64_*${ARCH:+.$ARCH}.bundle \
    "$BUNDLES"/*_d128_*${ARCH:+.$ARCH}.bundle \
    "$BUNDLES"/*_d96_*${ARCH:+.$ARCH}.bundle; do
  for args in "2 8 513 8" "3 8 127 2" "1 32 1000 8" "2 32 77 1" \
      "1 4 4096 1" "2100 32 16 8" "1000 80 33 80"; do
    set -- $args; seed=$((seed + 1))
    echo "$bundle $1 $2 $3 $seed $4" >> "$jobs"
  done
done
# Split K/V loops fixed at 1 to 16 splits (a 7th field; the runtime
# otherwise chooses) in every kernel that may split: tails, splits that see
# no key block (seq 1 with 16), GQA, and a grid whose batch · splits would
# pass 65535 (fewer are used).
for bundle in "$BUNDLES"/*${ARCH:+.$ARCH}.bundle; do
  packed "$bundle" && continue
  grep -q '^kv_splits' "$bundle" || continue # compiled unable to split
  for args in "1 2 1000 2 1" "1 2 1000 2 2" "2 3 4097 3 3" "1 1 1 1 16" \
      "3 8 127 8 5" "1 32 4096 8 16" "2 8 64 2 16" "8000 2 40 2 16"; do
    set -- $args; seed=$((seed + 1))
    echo "$bundle $1 $2 $3 $seed $4 $5" >> "$jobs"
  done
done
# Decoding: seq_q 1 to 16 against longer keys (an 8th field: seq_k; the
# 7th, 0, leaves the split count to the runtime), GQA 32/8 and 8/2, where
# the runtime packs a K/V head's query heads into one head of their rows
# (non-causal kernels with dynamic heads and seq_q) and splits the loop.
for bundle in "$BUNDLES"/*_d64_*${ARCH:+.$ARCH}.bundle \
    "$BUNDLES"/*_d128_*${ARCH:+.$ARCH}.bundle \
    "$BUNDLES"/*_d80_*${ARCH:+.$ARCH}.bundle; do
  for args in "4 32 1 8 3000" "2 32 7 8 5000" "1 8 16 2 4097" "3 8 1 8 129"; do
    set -- $args; seed=$((seed + 1))
    echo "$bundle $1 $2 $3 $seed $4 0 $5" >> "$jobs"
  done
done
# Varlen and paged kernels: flashc-run's own flags after a `--` field
# (empty sequences, seq_q != seq_k, 4097 rows; pages through a shuffled
# block table, up to 4097 keys).
for bundle in "$BUNDLES"/varlen-*${ARCH:+.$ARCH}.bundle; do
  for args in "--seq-lens 1,17,130,64" "--seq-lens 128,64,1,513" \
      "--seq-lens 0,5,300,33,4097 --seq-lens-k 7,0,513,20,4097"; do
    seed=$((seed + 1)); echo "$bundle -- $args --seed $seed" >> "$jobs"
  done
done
for bundle in "$BUNDLES"/paged-*${ARCH:+.$ARCH}.bundle; do
  for args in "--batch 4" "--batch 3 --seq-lens-k 4097,1,1000" \
      "--batch 16 --kv-splits 1"; do
    seed=$((seed + 1)); echo "$bundle -- $args --seed $seed" >> "$jobs"
  done
done
if [ -n "${SHARD:-}" ]; then
  shard=${SHARD%/*} shards=${SHARD#*/}
  if ! [[ "$shard" =~ ^[0-9]+$ && "$shards" =~ ^[0-9]+$ ]] ||
      [ "$shard" -lt 1 ] || [ "$shard" -gt "$shards" ]; then
    echo "SHARD must be K/N with 1 <= K <= N, got '$SHARD'"; exit 2
  fi
  awk -v k="$shard" -v n="$shards" '(NR - k) % n == 0' "$jobs" > "$jobs.shard"
  mv "$jobs.shard" "$jobs"
fi
mkdir -p /tmp/gpu-suite.out; rm -f /tmp/gpu-suite.out/*
# Each run has 3 minutes (a hung kernel fails its run, not the suite); a
# failure is printed as it happens, and a line every 25 runs shows the
# progress (a device call that ends early still says how far it got).
run_one() {
  local name; name=$(basename "$1" .bundle)
  local out="/tmp/gpu-suite.out/$name.b$2.h$3.s$4${6:+.kv$6}${7:+.ks$7}${8:+.sk$8}"
  local bundle=$1 args
  if [ "$2" = -- ]; then
    # flashc-run's flags as given (the output named after them).
    shift 2; args=("$@")
    out="/tmp/gpu-suite.out/$name.$(echo "$*" | tr -c 'a-zA-Z0-9,\n' _)"
  else
    args=(--batch "$2" --heads "$3" --seq "$4" --seed "$5"
      ${6:+--kv-heads "$6"} ${7:+--kv-splits "$7"} ${8:+--seq-k "$8"})
  fi
  if timeout 180 "$RUN" "$bundle" "${args[@]}" --iters 0 > "$out" 2>&1; then
    echo ok >> "$out"
  else
    echo "FAIL $(basename "$out")"
  fi
  echo done
}
export -f run_one; export RUN
PART=${PART:-all}
[ "$PART" = rest ] && : > "$jobs"
total=$(wc -l < "$jobs")
# -r: no jobs (PART=rest) runs nothing, not one empty run.
xargs -r -P 6 -L 1 bash -c 'run_one "$@"' _ < "$jobs" |
  awk -v total="$total" '/^done$/ { if (++n % 25 == 0) printf "%d of %d runs\n", n, total; fflush(); next } { print; fflush() }'
pass=0; fail=0
for out in /tmp/gpu-suite.out/*; do
  if [ "$(tail -1 "$out")" = ok ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $(basename "$out")"; tail -4 "$out"; fi
  echo "$(basename "$out") $(grep rel_l2 "$out")" >> "$LOG"
done
echo "shapes: $pass passed, $fail failed"
if [ "$PART" = shapes ]; then
  [ $fail -eq 0 ]
  exit
fi

# The runtime's error paths (C program): null, misaligned and foreign
# pointers, bad shapes, a malformed bundle, PTX the driver rejects.
if "$BUILD/bin/runtime_errors" "$BUNDLES/bf16_d128_causal.sm_90.bundle"; then
  echo "runtime errors: passed"
else
  fail=$((fail + 1)); echo "runtime errors: FAILED"
fi

# compute-sanitizer: one shape per (head_dim, causal), both f16 and bf16.
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
san_pass=0; san_fail=0
if [ -x "$SAN" ]; then
  for bundle in "$BUNDLES"/*.${ARCH:-sm_90}.bundle; do
    packed "$bundle" && continue
    name=$(basename "$bundle" .bundle)
    # Of the other head dims, 80 (padded rows, idle copy threads), 192
    # (swizzled, idle copy threads) and 256 (the largest), in f16 (bf16
    # copies and lays out the same).
    case "$name" in *_d32_*|*_d96_*|*_d160_*) continue ;; esac
    case "$name" in bf16_d80_*|bf16_d192_*|bf16_d256_*) continue ;; esac
    for tool in memcheck racecheck; do
      # Three splits where the kernel may split (the merge's global
      # traffic); flashc-run refuses --kv-splits for one that cannot.
      splits=""
      grep -q '^kv_splits' "$bundle" && splits="--kv-splits 3"
      if "$SAN" --tool $tool --error-exitcode 9 "$RUN" "$bundle" --batch 1 \
          --heads 2 --seq 130 $splits --iters 0 > /tmp/san.out 2>&1; then
        san_pass=$((san_pass + 1))
      else
        san_fail=$((san_fail + 1))
        echo "SANITIZER FAIL $tool $name"; tail -20 /tmp/san.out
      fi
    done
  done
  echo "compute-sanitizer: $san_pass passed, $san_fail failed"
else
  echo "compute-sanitizer: not found, skipped"
fi
# flashc itself (the static build from prepare-device.sh), compile + --run:
# the examples, and a causal kernel on tails, both PTX targets.
run_fail=0; run_pass=0
FLASHC=${FLASHC:-}
if [ -z "$FLASHC" ] && [ -f "$ROOT/.carry/flashc.xz" ]; then
  xz -dc "$ROOT/.carry/flashc.xz" > /tmp/flashc && chmod +x /tmp/flashc
  FLASHC=/tmp/flashc
fi
if [ -n "$FLASHC" ]; then
  ex="$ROOT/examples"
  while read -r args; do
    if (cd /tmp && $FLASHC $args > /tmp/flashc-run.out 2>&1) &&
        grep -q '^PASS' /tmp/flashc-run.out; then
      run_pass=$((run_pass + 1))
      echo "flashc $args: $(grep -E 'time_us' /tmp/flashc-run.out)"
    else
      run_fail=$((run_fail + 1)); echo "FAIL flashc $args"; cat /tmp/flashc-run.out
    fi
  done <<RUNS
$ex/attention.mlir --run --iters 100
$ex/causal.mlir --run --batch 3 --heads 8 --seq 513 --iters 20
$ex/causal.mlir --run --batch 1 --heads 1 --seq 1 --iters 0
$ex/causal.mlir --arch sm_90 --run --batch 1 --heads 8 --seq 1000 --iters 20
$ex/attention_d128.mlir --run --iters 20
$ex/attention_d128.mlir --arch sm_90 --run --iters 20
$ex/gqa.mlir --arch sm_90 --run --batch 2 --seq 1000 --iters 20
$ex/attention.mlir --arch sm_90a --run --iters 100
$ex/causal.mlir --arch sm_90a --run --batch 3 --heads 8 --seq 513 --iters 20
$ex/attention_d128.mlir --arch sm_90a --run --iters 20
$ex/gqa.mlir --arch sm_90a --run --batch 2 --seq 1000 --iters 20
$ex/bshd.mlir --arch sm_90a --run --batch 2 --heads 8 --seq 1000 --iters 20
$ex/mods/decode_bottom_right.mlir --arch sm_90a --run --batch 2 --heads 4 --seq 16 --seq-k 3000 --iters 20
$ex/causal.mlir --run --batch 2 --heads 32 --kv-heads 4 --seq 777 --iters 0
RUNS
  echo "flashc --run: $run_pass passed, $run_fail failed"
else
  echo "flashc --run: no flashc given (FLASHC or .carry/flashc.xz), skipped"
fi
[ $fail -eq 0 ] && [ $san_fail -eq 0 ] && [ $run_fail -eq 0 ]
