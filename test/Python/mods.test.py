import flashc
from flashc import mods

# A softcap and a sliding window: the traced regions, compiled.
text, captured = flashc.attention_mlir(
    64, "f16", True, score_mod=lambda s, b, h, q, kv: 50 * mods.tanh(s / 50),
    mask_mod=lambda b, h, q, kv: (kv <= q) & (q - kv < 256))
print(text)
k = flashc.compile(mlir=text, arch="sm_90")
print("compiled", k.kernel_name, k.metadata["modified"], k.metadata["causal"])


# Captures: loads become memref.load from the region's capture arguments;
# the same tensor twice is one capture; a where with mixed types.
docs, slopes = mods.TensorSpec("torch.int32", 2), mods.TensorSpec("torch.float32", 1)
text, captured = flashc.attention_mlir(
    128, "bf16", True, bottom_right=True, lse=True,
    score_mod=lambda s, b, h, q, kv: mods.where(kv > q, s, s + slopes[h] * (kv - q)),
    mask_mod=lambda b, h, q, kv: docs[b, q] == docs[b, kv])
print(text)
print("captured", len(captured), captured[0] is slopes, captured[1] is docs)
k = flashc.compile(mlir=text, arch="sm_90")
print("compiled", k.metadata["lse"], k.metadata["bottom_right"],
      k.metadata["block_map"])

# What cannot be traced is an error that says why.
for kwargs in (dict(score_mod=lambda s, b, h, q, kv: s if s > 0 else -s),
               dict(mask_mod=lambda b, h, q, kv: q - kv),
               dict(mask_mod=lambda b, h, q, kv: mods.TensorSpec("torch.bool", 1)[q] > 0),
               dict(score_mod=3),
               dict(bottom_right=True)):
    try:
        flashc.attention_mlir(64, "f16", **kwargs)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)

# A modifier given as MLIR region text, its capture's type given.
region = """  score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %q: index, %kv: index, %sq: index, %sk: index, %t: memref<?xf32>):
    %x = memref.load %t[%h] : memref<?xf32>
    %y = arith.addf %s, %x : f32
    flash.yield %y : f32
  }"""
text, captured = flashc.attention_mlir(64, "f16", False, score_mod=region,
                                       capture_types=["memref<?xf32>"])
print("text", "captures(%attn_c0 : memref<?xf32>)" in text, captured)
print("compiled", flashc.compile(mlir=text, arch="sm_80").metadata["capture"])

# Infinities and small constants as literals MLIR reads; % as Python's
# floor modulo (the sign of the divisor); checked by the CPU interpreter
# against the float64 reference.
import os, subprocess, sys
text, _ = flashc.attention_mlir(
    64, "f16", False,
    score_mod=lambda s, b, h, q, kv: mods.where(kv > q + 3, -float("inf"), s * 1e-5 + s),
    mask_mod=lambda b, h, q, kv: (kv - q) % 3 != 1)
print(text)
sys.stdout.flush()
checker = os.path.join(os.environ["FLASHC_BIN"], "flashc-check-cpu")
subprocess.run([checker, "-", "--batch", "1", "--heads", "2", "--seq", "150",
                "--seq-k", "200"], input=text, text=True, check=True)

# A captured tensor read at constant indices (as flashc.distributed reads
# a shard's placement): loads at constant positions.
places = mods.TensorSpec("torch.int32", 1)
text, captured = flashc.attention_mlir(
    64, "f16", False, mask_mod=lambda b, h, q, kv: q + places[0] - kv < places[1])
print("constant index", len(captured), "%m0 = arith.constant 0 : index" in text,
      "memref.load %mcap0[%m0] : memref<?xi32>" in text)

# The same traced on another thread while this one is inside a trace of
# its own: the region being traced is per thread (autograd's backward
# thread traces modifiers while the main thread may run a forward).
import threading  # noqa: E402

seen = []


def outer_mask(b, h, q, kv):
    worker = threading.Thread(target=lambda: seen.append(flashc.attention_mlir(
        64, "f16", False,
        mask_mod=lambda b, h, q, kv: q + places[0] - kv < places[1])[0]))
    worker.start()
    worker.join()
    return q - kv < places[0]


text, _ = flashc.attention_mlir(64, "f16", False, mask_mod=outer_mask)
print("threads", len(seen), "memref.load %mcap0[%m0]" in seen[0],
      "memref.load %mcap0" in text)

# An index converted to f32 goes through i32 where its bounds (positions
# below mods.COORDINATE_LIMIT) allow: a difference of positions, plus a
# constant, modulo a constant, a loaded i32; a product of positions, or a
# loaded i32 times a number, through i64.
for name, fn in (
        ("kv - q", lambda s, b, h, q, kv: s + slopes[h] * (kv - q)),
        ("kv - q + 5", lambda s, b, h, q, kv: s + (kv - q + 5)),
        ("abs(kv - q) % 7", lambda s, b, h, q, kv: s + abs(kv - q) % 7),
        ("where(q > kv, q - kv, 0)",
         lambda s, b, h, q, kv: s + mods.where(q > kv, q - kv, 0)),
        ("q * kv", lambda s, b, h, q, kv: s + q * kv),
        ("loaded i32 * 2", lambda s, b, h, q, kv: s + places[h] * 2)):
    regions, _, _ = mods.trace(fn, None)
    print("convert", name, [line.split(" : ")[-1] for line in
                            regions.splitlines() if "sitofp" in line])
# Calls with Python modifiers refuse dimensions past the limit.
flashc._check_coordinates(2, 16, mods.COORDINATE_LIMIT - 1)
try:
    flashc._check_coordinates(2, 16, mods.COORDINATE_LIMIT)
except ValueError as e:
    print("ValueError", e)
