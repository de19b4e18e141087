#!/usr/bin/env python3
"""Makes a static-shape copy of a bundle, optionally with another PTX.

For A/B runs of two code generations of one kernel with bench/compare.py,
which times static-shape bundles: a dynamic-shape kernel runs any shape, so
its bundle can be given one (the `shape` line), and the PTX of an earlier
build of the same kernel (same kernel name and parameters) can be swapped
in. Nothing is timed here.

  bench/swap_ptx.py IN.bundle OUT.bundle --shape B H S [--ptx OLD.ptx]
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("out")
    ap.add_argument("--shape", nargs=3, type=int, required=True,
                    metavar=("B", "H", "S"))
    ap.add_argument("--ptx", help="PTX file to put in place of the bundle's")
    args = ap.parse_args()
    if min(args.shape) <= 0:
        sys.exit("swap_ptx: --shape needs positive sizes")
    data = open(args.bundle, "rb").read()
    header, sep, rest = data.partition(b"\nptx ")
    if not sep:
        sys.exit(f"swap_ptx: {args.bundle}: no ptx section")
    size, _, body = rest.partition(b"\n")
    ptx, tail = body[:int(size)], body[int(size):]
    if tail.strip():
        sys.exit(f"swap_ptx: {args.bundle}: has a cubin; use a PTX-only bundle")
    lines = header.split(b"\n")
    if not any(line.startswith(b"shape ") for line in lines):
        sys.exit(f"swap_ptx: {args.bundle}: no shape line")
    b, h, s = args.shape
    lines = [b"shape %d %d %d %d" % (b, h, s, s) if line.startswith(b"shape ")
             else line for line in lines]
    if args.ptx:
        ptx = open(args.ptx, "rb").read()
        name = next(line.split()[1] for line in lines
                    if line.startswith(b"kernel "))
        if name not in ptx:
            sys.exit(f"swap_ptx: {args.ptx} has no kernel {name.decode()}")
    with open(args.out, "wb") as out:
        out.write(b"\n".join(lines) + b"\nptx %d\n" % len(ptx) + ptx)


if __name__ == "__main__":
    main()
