import ctypes
import os
import flashc

# The module's version is the compiler library's (one version, CMake's).
lib = flashc._compiler_lib()
lib.flashc_compiler_version.restype = ctypes.c_char_p
print("version", flashc.__version__ == lib.flashc_compiler_version().decode())

k = flashc.compile(head_dim=128, dtype="bf16", causal=True, arch="sm_90")
m = k.metadata
print("kernel", k.kernel_name, m["arch"], m["element"], m["head_dim"], "causal", m["causal"])
print("ptx", [l for l in k.ptx.splitlines() if l.startswith(".target")][0])
k = flashc.compile(batch=2, heads=4, seq_q=100,
                   config=dict(block_m=32, block_n=32, stages=3, warps=2))
print("static", k.metadata["shape"], k.metadata["strategy"])
k = flashc.compile(config=dict(block_m=64, block_n=64, stages=2, warps=4,
                               strategy="wmma"))
print("explicit", k.metadata["strategy"])
k = flashc.compile(head_dim=128, arch="sm_90a",
                   config=dict(block_m=128, block_n=64, stages=2, warps=8,
                               strategy="wgmma"))
print("hopper", k.metadata["arch"], k.metadata["strategy"])
k = flashc.compile(head_dim=96, heads=32, kv_heads=8, strided=True)
print("gqa", k.metadata["kv_heads"], "strided", k.metadata.get("strided"))
for kwargs in (dict(head_dim=72), dict(dtype="f32"), dict(arch="sm_75")):
    try:
        flashc.compile(**kwargs)
    except flashc.CompileError as e:
        print("CompileError", e.diagnostics.strip())
    except ValueError as e:
        print("ValueError", e)
# Every wrong argument is an error that names it: nothing is rounded,
# defaulted or ignored.
for kwargs in (dict(head_dim=64.9), dict(head_dim=None), dict(batch=2.5),
               dict(batch=0), dict(heads=True), dict(scale=0),
               dict(scale=float("nan")), dict(scale=-1.0), dict(scale="0.1"),
               dict(causal=1), dict(kv_heads=0), dict(strided=1),
               dict(config=dict(block_m=64, block_n=64, stages=2, warps=4,
                                block_k=16)),
               dict(config=dict(block_m=64, block_n=64, stages=2)),
               dict(config=dict(block_m=64.0, block_n=64, stages=2, warps=4)),
               dict(config=dict(block_m=64, block_n=64, stages=2, warps=4,
                                kv_splits=0)),
               dict(config=[64, 64, 2, 4])):
    try:
        flashc.compile(**kwargs)
        print("accepted", kwargs)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)
# kv_splits where a config is given (a static grid small enough to split).
k = flashc.compile(batch=1, heads=2, seq_q=512, arch="sm_90",
                   config=dict(block_m=64, block_n=64, stages=2, warps=4,
                               kv_splits=2))
print("kv_splits", k.metadata["kv_splits"])
text = """func.func @mine(%q: memref<1x2x64x64xf16>) {
  flash.attention %q, %q, %q -> %q : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> -> memref<1x2x64x64xf16>
  return
}"""
print("mlir", flashc.compile(mlir=text).kernel_name)
path = flashc.warm_cache("f16", 64, False, arch="sm_90")
print("cache", path, "exists" if os.path.exists(path) else "missing",
      oct(os.stat(path).st_mode & 0o777),
      [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")])
# Tiles from a tune cache: named, disabled with "", or the default
# ($FLASHC_TUNE_CACHE), which also tags the disk cache's file name.
import tempfile
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("sm_90 f16 64 0 0 64 32 2 4 mma_sync 1.0\n")
tuned = flashc.compile(arch="sm_90", tune_cache=f.name).metadata
plain = flashc.compile(arch="sm_90", tune_cache="").metadata
print("tuned", tuned["block_m"], tuned["block_n"], "plain", plain["block_m"],
      plain["block_n"])
os.environ["FLASHC_TUNE_CACHE"] = f.name
print("default", flashc.compile(arch="sm_90").metadata["block_n"])
tagged = flashc.warm_cache("f16", 64, False, arch="sm_90")
print("tagged", os.path.basename(tagged))
os.environ["FLASHC_TUNE_CACHE"] = ""  # set but empty: no cache, no tag
print("untagged", os.path.basename(flashc._cache_path("f16", 64, False, None,
                                                      "sm_90")))
# warm_cache's arch defaults to what attention picks on an H100/H200.
print("warm default", os.path.basename(flashc.warm_cache("f16", 64, False)))
os.unlink(f.name)
try:
    flashc.attention(1, 2, 3)
except (ImportError, TypeError) as e:
    print("attention", type(e).__name__)
