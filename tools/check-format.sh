#!/usr/bin/env bash
# Checks that every tracked C and C++ file is formatted as clang-format
# (Debian's clang-format-22, .clang-format: LLVM style) would format it.
# Prints the files that are not and exits 1 if any; `--fix` formats them.
set -euo pipefail
cd "$(dirname "$0")/.."
format=${CLANG_FORMAT:-clang-format-22}
command -v "$format" > /dev/null ||
  { echo "check-format: '$format' not found (apt install clang-format-22)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.c' '*.cpp' '*.h')
if [ "${1:-}" = --fix ]; then
  "$format" -i "${files[@]}"
  exit 0
fi
bad=0
for file in "${files[@]}"; do
  if ! "$format" --dry-run -Werror "$file" > /dev/null 2>&1; then
    echo "not formatted: $file"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "check-format: ${#files[@]} files formatted"
exit "$bad"
