#!/usr/bin/env bash
# Builds the Python wheel (pyproject.toml: scikit-build-core, MLIR linked
# statically into libflashc_compiler.so) into dist/ and tests it in a fresh
# virtual environment, away from the source tree: the module must load the
# libraries from its own package directory, compile without MLIR installed
# (no libMLIR/libLLVM among the compiler library's needs), and refuse bad
# arguments. GPU runs are test/GPU's and python/tests'.
#   tools/test-wheel.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != --no-build ]; then
  python3 -c "import scikit_build_core" 2> /dev/null ||
    python3 -m pip install -q "scikit-build-core>=0.10"
  rm -rf dist
  python3 -m pip wheel . -w dist --no-build-isolation --no-deps -q
fi
wheel=$(ls dist/flashc-*.whl)
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q "$wheel"
cd "$venv"
FLASHC_CACHE_DIR="$venv/cache" FLASHC_TUNE_CACHE="" "$venv/bin/python" - <<'PY'
import os, subprocess, flashc
package = os.path.dirname(flashc.__file__)
assert package.startswith(os.environ.get("VIRTUAL_ENV", os.getcwd())) or "site-packages" in package, package
for lib in ("libflashc_compiler.so", "libflashc_runtime.so"):
    assert os.path.exists(os.path.join(package, lib)), lib
needs = subprocess.run(["readelf", "-d", os.path.join(package, "libflashc_compiler.so")],
                       capture_output=True, text=True).stdout
bad = [l for l in needs.splitlines() if "NEEDED" in l and ("MLIR" in l or "LLVM" in l)]
assert not bad, bad
k = flashc.compile(head_dim=128, dtype="bf16", causal=True, arch="sm_90")
print("wheel", flashc.__version__, "compiled", k.kernel_name, k.metadata["strategy"],
      "from", package)
try:
    flashc.compile(head_dim=64.9)
except TypeError as e:
    print("refused:", e)
print("needs:", " ".join(l.split()[-1] for l in needs.splitlines() if "NEEDED" in l))
PY
