#!/usr/bin/env python3
"""The modifier kernels that bench/mods.py times, as MLIR, and their bundles.

Each modifier of examples/mods with dynamic batch, heads and seq (and
dynamic captures: slopes [heads], document ids [batch, seq_k], a relative
bias table of seq_q + seq_k - 1 entries), f16 and bf16, head_dim 64 and 128,
plus the plain causal kernel they are compared with. Run where flashc is
built:

    python3 bench/mod_kernels.py --flashc build/bin/flashc --arch sm_90 \
        --out .carry/mod-bundles

It prints each kernel's compile time: the whole `flashc` run (a process:
parse, lower, PTX, ptxas's spill check), and the in-process compile that
`flashc.compile`, the C API and a Python modifier's first call run (the
same passes and PTX, no ptxas: the driver assembles the PTX at load),
median of three, where the Python module finds libflashc_compiler.so
(FLASHC_LIBRARY_DIR, PYTHONPATH=python).
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (attention clauses, captures as (name, type pattern), region text)
# {T} is the element type, {D} the head dim.
MODS = {
    "causal": ("causal", [], ""),
    "softcap": ("causal", [], """score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %cap = arith.constant 50.0 : f32
    %x = arith.divf %s, %cap : f32
    %t = math.tanh %x : f32
    %y = arith.mulf %t, %cap : f32
    flash.yield %y : f32
  }"""),
    "alibi": ("causal", [("slopes", "memref<?xf32>")], """score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %slope_table: memref<?xf32>):
    %slope = memref.load %slope_table[%h] : memref<?xf32>
    %d = arith.subi %kv, %qi : index
    %di = arith.index_cast %d : index to i32
    %df = arith.sitofp %di : i32 to f32
    %bias = arith.mulf %slope, %df : f32
    %y = arith.addf %s, %bias : f32
    flash.yield %y : f32
  }"""),
    "sliding_window_256": ("causal", [], """mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %w = arith.constant 256 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }"""),
    "sliding_window_4096": ("causal", [], """mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %w = arith.constant 4096 : index
    %d = arith.subi %qi, %kv : index
    %near = arith.cmpi slt, %d, %w : index
    flash.yield %near : i1
  }"""),
    "document_mask": ("causal", [("docs", "memref<?x?xi32>")], """mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %ids: memref<?x?xi32>):
    %dq = memref.load %ids[%b, %qi] : memref<?x?xi32>
    %dk = memref.load %ids[%b, %kv] : memref<?x?xi32>
    %same = arith.cmpi eq, %dq, %dk : i32
    flash.yield %same : i1
  }"""),
    "prefix_lm": ("", [], """mask_mod {
  ^bb0(%b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index):
    %prefix = arith.constant 256 : index
    %in_prefix = arith.cmpi ult, %kv, %prefix : index
    %before = arith.cmpi ule, %kv, %qi : index
    %seen = arith.ori %in_prefix, %before : i1
    flash.yield %seen : i1
  }"""),
    "relative_bias": ("", [("table", "memref<?xf32>")], """score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %qi: index, %kv: index, %sq: index, %sk: index, %bias: memref<?xf32>):
    %c1 = arith.constant 1 : index
    %d = arith.subi %kv, %qi : index
    %last = arith.subi %sq, %c1 : index
    %i = arith.addi %d, %last : index
    %x = memref.load %bias[%i] : memref<?xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }"""),
    "decode_bottom_right": ("causal bottom_right", [], ""),
}


def mlir(name, dtype, head_dim):
    clauses, captures, region = MODS[name]
    t = f"memref<?x?x?x{head_dim}x{dtype}>"
    args = [f"%q: {t}", f"%k: {t}", f"%v: {t}", f"%o: {t}"]
    args += [f"%{c}: {ty}" for c, ty in captures]
    capture_clause = ""
    if captures:
        capture_clause = "captures(" + ", ".join(f"%{c}" for c, _ in captures) + \
            " : " + ", ".join(ty for _, ty in captures) + ")"
    return (f"func.func @{name}({', '.join(args)}) {{\n"
            f"  flash.attention %q, %k, %v -> %o {clauses} {capture_clause}\n"
            f"      : {t}, {t}, {t} -> {t}\n  {region}\n  return\n}}\n")


def bundle_name(name, dtype, head_dim, arch):
    return f"{name}.{dtype}.d{head_dim}.{arch}.bundle"


def _library_compile():
    """(text, arch) -> the median seconds of three in-process compiles, or
    NaN where the Python module or its compiler library is missing."""
    try:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
        import flashc
        flashc.compile(mlir=mlir("causal", "f16", 64), arch="sm_80")
    except Exception:  # no module or no library: the column says nan
        return lambda text, arch: float("nan")

    def seconds(text, arch):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            flashc.compile(mlir=text, arch=arch)
            times.append(time.perf_counter() - start)
        return sorted(times)[1]
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flashc", default="build/bin/flashc")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--out", default=".carry/mod-bundles")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    library = _library_compile()
    print(f"{'kernel':<34} {'flashc s':>9} {'library s':>9}")
    for name in MODS:
        for dtype in ("f16", "bf16"):
            for head_dim in (64, 128):
                out = os.path.join(args.out, bundle_name(name, dtype, head_dim,
                                                         args.arch))
                start = time.perf_counter()
                run = subprocess.run([args.flashc, "-", "--arch", args.arch,
                                      "--emit=bundle", "-o", out],
                                     input=mlir(name, dtype, head_dim),
                                     text=True, capture_output=True)
                seconds = time.perf_counter() - start
                if run.returncode != 0:
                    sys.exit(f"{name} {dtype} d{head_dim}: {run.stderr}")
                in_process = library(mlir(name, dtype, head_dim), args.arch)
                print(f"{name + ' ' + dtype + ' d' + str(head_dim):<34} "
                      f"{seconds:9.2f} {in_process:9.2f}")


if __name__ == "__main__":
    main()
