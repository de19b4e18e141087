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

# The dQ program computing D itself.
for d, arch in ((128, "sm_80"), (128, "sm_90a"), (176, "sm_80")):
    text = bk.programs(d, "bf16", True, True, None, arch, True)[0]
    with open(os.path.join(out, f"dq_own_{d}_{arch}.mlir"), "w") as f:
        f.write(text)
print("own delta:", next(l.strip() for l in bk.programs(
    128, "bf16", True, True, None, "sm_90a", True)[0].splitlines()
    if "row_dot" in l))

# On sm_90a the programs at head dims 64 and 128 take wgmma; other head
# dims keep mma_sync.
for d, dtype, form in ((64, "bf16", "br"), (64, "f16", "full"),
                       (128, "f16", "causal"), (128, "bf16", "full")):
    texts = bk.programs(d, dtype, form != "full", form == "br", None, "sm_90a")
    for name, text in zip(("dq", "dkdv"), texts):
        with open(os.path.join(out, f"{name}_{d}_{dtype}_{form}_90a.mlir"),
                  "w") as f:
            f.write(text)
print("wgmma tiles", *(d for d in (32, 48, 64, 96, 128, 176)
                       if "wgmma" in bk.tiles_for(d, arch="sm_90a")[0]))
dkdv = bk.programs(128, "f16", True, False, None, "sm_90a")[1]
print("sm_90a dkdv:", next(l.strip() for l in dkdv.splitlines()
                           if "flash.tiled" in l))

# With modifiers: a softcap with a sliding window, and a document mask
# reading a captured tensor, at each MODIFIER_TILES row.
from flashc import mods as m  # noqa: E402

docs = m.TensorSpec("torch.int32", 2)
cases = {
    "softcap_window": (lambda s, b, h, q, kv: 20 * m.tanh(s / 20),
                       lambda b, h, q, kv: q - kv < 256),
    "documents": (None, lambda b, h, q, kv: docs[b, q] == docs[b, kv]),
}
written = {}
for name, (score_mod, mask_mod) in cases.items():
    mods, _ = bk.trace_modifiers(score_mod, mask_mod)
    for d in (64, 128):
        written[name, d] = bk.modified_programs(
            d, "bf16", name != "documents", False, None, mods)
        for which, text in zip(("dq", "dkdv"), written[name, d]):
            with open(os.path.join(out, f"{which}_{name}_{d}.mlir"), "w") as f:
                f.write(text)
        for which, text in zip(("dq", "dkdv"), bk.modified_programs(
                d, "bf16", name != "documents", False, None, mods, "sm_90a")):
            with open(os.path.join(out, f"{which}_{name}_{d}_90a.mlir"),
                      "w") as f:
                f.write(text)
print("modified tiles", *(d for d in (64, 128, 176) if bk.tiles_for(d, True)))
dkdv = written["softcap_window", 64][1].splitlines()
for op in ("flash.score_mod", "flash.mask_mod", "flash.grad_scores"):
    print("dkdv softcap:", next(l.strip() for l in dkdv if op in l))
mods, _ = bk.trace_modifiers(*cases["softcap_window"])
dq = bk.modified_programs(128, "f16", True, False, None, mods, "sm_90a")[0]
print("sm_90a modified dq:", next(l.strip() for l in dq.splitlines()
                                  if "flash.tiled" in l))
# Which masks flash-to-gpu serves with a block map (mapped_mask): one that
# loads data, or has an op an affine mask lacks (a remainder).
for name, mask in (("window", lambda b, h, q, kv: q - kv < 256),
                   ("prefix", lambda b, h, q, kv: (kv < 256) | (kv <= q)),
                   ("documents", cases["documents"][1]),
                   ("stripes", lambda b, h, q, kv: (q // 64) % 2 == 0)):
    print("mapped", name, bk.mapped_mask(bk.trace_modifiers(None, mask)[0]))
# A document mask with bottom-right causal, D computed by the dQ program:
# Q in shared memory (MAPPED_TILES), which spilled in registers on sm_80.
mods, _ = bk.trace_modifiers(*cases["documents"])
with open(os.path.join(out, "dq_documents_own_128.mlir"), "w") as f:
    f.write(bk.modified_programs(128, "bf16", True, True, None, mods, None,
                                 True)[0])
# dK/dV blocks at head dim 64 on sm_90a: 64 keys, or 32 with a mask that
# reads data (its block map's registers).
for name in cases:
    mods, _ = bk.trace_modifiers(*cases[name])
    dkdv = bk.modified_programs(64, "f16", True, False, None, mods, "sm_90a")[1]
    print(f"sm_90a {name} dkdv:", next(l.strip()[l.strip().index("config"):]
                                      for l in dkdv.splitlines()
                                      if "flash.tiled" in l)[:55])

# The fused program (dQ by atomics): up to head dim 128, with and without
# modifiers.
for d, dtype, form in ((48, "f16", "causal"), (64, "bf16", "br"),
                       (128, "f16", "causal")):
    text = bk.fused_program(d, dtype, form != "full", form == "br", None)
    with open(os.path.join(out, f"fused_{d}_{dtype}_{form}.mlir"), "w") as f:
        f.write(text)
for name, (score_mod, mask_mod) in cases.items():
    mods, _ = bk.trace_modifiers(score_mod, mask_mod)
    for d in (64, 128):
        text = bk.fused_program(d, "bf16", name != "documents", False, None,
                                mods)
        with open(os.path.join(out, f"fused_{name}_{d}.mlir"), "w") as f:
            f.write(text)
print("fused reach", *(d for d in (64, 128, 176)
                       if bk.fused_program(d, "f16", True, False, None)))
fused = bk.fused_program(64, "f16", True, False, None).splitlines()
print("fused:", next(l.strip() for l in fused if "atomic_add_dot" in l))
print("fused programs:", len(bk.all_programs(64, "f16", True, False, None)),
      len(bk.all_programs(176, "f16", True, False, None)))
