import os
import sys

from flashc import _backward_kernels as bk

out = sys.argv[1]
have = [d for d in (32, 64, 96, 128, 160, 176) if bk.tiles_for(d)]
none = [d for d in (192, 256) if bk.tiles_for(d) is None]
print("tiles", *have, "have", *none, "none")
for d, dtype, form in ((48, "f16", "causal"), (64, "bf16", "br"),
                       (128, "f16", "causal"),
                       (176, "bf16", "full"), (176, "f16", "br")):
    dq, dkdv = bk.programs(d, dtype, form != "full", form == "br", None)
    for name, text in (("dq", dq), ("dkdv", dkdv)):
        with open(os.path.join(out, f"{name}_{d}_{dtype}_{form}.mlir"), "w") as f:
            f.write(text)
dq, dkdv = bk.programs(64, "f16", True, True, None)
print("dq program:", next(l.strip() for l in dq.splitlines() if "flash.tiled" in l))
print("dkdv program:", next(l.strip() for l in dkdv.splitlines() if "flash.kv_loop" in l))
print("dkdv mask:", next(l.strip() for l in dkdv.splitlines() if "flash.mask" in l))
