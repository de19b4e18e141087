#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan) in build-fuzz/ and fuzzes parse ->
# verify -> the pipeline to PTX for SECONDS (default 60), seeded from the
# examples and the lit tests. Exits non-zero on any crash, leak or hang (the
# reproducer is left in build-fuzz/crashes/). Needs clang-22 and
# libclang-rt-22-dev (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
CC=/usr/lib/llvm-22/bin/clang CXX=/usr/lib/llvm-22/bin/clang++ \
  cmake -G Ninja -S . -B build-fuzz -DFLASHC_FUZZ=ON -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-fuzz --target flashc-fuzz
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp examples/*.mlir "$corpus/"
find test -name '*.mlir' -size -32k | while read -r f; do
  cp "$f" "$corpus/$(echo "$f" | tr / _)"
done
mkdir -p build-fuzz/crashes
# As for the sanitizer build's tests (docs/Robustness.md): the instrumented
# code's inlined BumpPtrAllocator poisons memory that the uninstrumented
# libMLIR.so never unpoisons, a false use-after-poison in MLIR's parser
# that turned up about once in 6 minutes of fuzzing.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0}
# Regression inputs first: each earlier crash must stay fixed.
if ls test/Fuzz/Inputs/* > /dev/null 2>&1; then
  build-fuzz/bin/flashc-fuzz test/Fuzz/Inputs/*
fi
build-fuzz/bin/flashc-fuzz "$corpus" -max_total_time="$SECONDS_TO_RUN" \
  -timeout=30 -rss_limit_mb=4096 -max_len=8192 -detect_leaks=1 \
  -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 2>&1 | tail -20
echo "fuzz: no crash, leak or hang in ${SECONDS_TO_RUN} s"
