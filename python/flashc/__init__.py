"""flashc for Python: compile attention kernels, and run them on PyTorch tensors.

    import flashc
    kernel = flashc.compile(head_dim=64, dtype="f16", causal=True)   # no torch, no GPU
    print(kernel.kernel_name, len(kernel.ptx))

    out = flashc.attention(q, k, v, causal=True)   # torch CUDA tensors [B, H, S, D]

Compiled kernels are cached on disk per configuration (FLASHC_CACHE_DIR, else
~/.cache/flashc); `warm_cache` fills the cache ahead of time, so that a GPU
machine without MLIR only needs the runtime library. Libraries are found in
FLASHC_LIBRARY_DIR, next to an installed package (<prefix>/lib), or in the
source tree's build/lib.
"""

import ctypes
import hashlib
import math
import numbers
import os
import tempfile
import threading

from . import mods

__all__ = ["compile", "attention", "varlen_attention", "paged_attention",
           "attention_mlir",
           "block_map", "BlockMap",
           "warm_cache", "Kernel", "CompileError", "FlashcError", "cache_dir",
           "mods"]
__version__ = "0.7"

SUPPORTED_ARCHS = ("sm_80", "sm_86", "sm_89", "sm_90", "sm_90a")
# Multiples of 16 from 32 to 256 (the dialect's rule).
SUPPORTED_HEAD_DIMS = tuple(range(32, 257, 16))
_DTYPES = {"f16": 0, "bf16": 1}


class FlashcError(RuntimeError):
    """A failure of the flashc libraries (missing library, driver error)."""


class CompileError(FlashcError):
    """Compilation failed; `diagnostics` holds the compiler's messages."""

    def __init__(self, diagnostics):
        super().__init__("flashc compilation failed:\n" + diagnostics)
        self.diagnostics = diagnostics


# --------------------------------------------------------------------------
# Native libraries (ctypes), loaded on first use.

def _library_dirs():
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = []
    if os.environ.get("FLASHC_LIBRARY_DIR"):
        dirs.append(os.environ["FLASHC_LIBRARY_DIR"])
    dirs.append(here)  # the wheel: the libraries inside the package
    dirs.append(os.path.normpath(os.path.join(here, "..", "..")))  # <prefix>/lib
    dirs.append(os.path.normpath(os.path.join(here, "..", "..", "build", "lib")))
    return dirs


def _load_library(name):
    tried = []
    for d in _library_dirs():
        path = os.path.join(d, name)
        tried.append(path)
        if os.path.exists(path):
            return ctypes.CDLL(path)
    raise FlashcError(f"cannot find {name} (looked in: {', '.join(tried)}); "
                      "set FLASHC_LIBRARY_DIR to the directory that holds it")


class _Params(ctypes.Structure):
    _fields_ = [("head_dim", ctypes.c_int64), ("dtype", ctypes.c_int),
                ("causal", ctypes.c_int), ("scale", ctypes.c_float),
                ("arch", ctypes.c_char_p),
                ("batch", ctypes.c_int64), ("heads", ctypes.c_int64),
                ("seq_q", ctypes.c_int64), ("seq_k", ctypes.c_int64),
                ("block_m", ctypes.c_int64), ("block_n", ctypes.c_int64),
                ("stages", ctypes.c_int64), ("warps", ctypes.c_int64),
                ("tune_cache", ctypes.c_char_p), ("strategy", ctypes.c_char_p),
                ("kv_splits", ctypes.c_int64), ("bottom_right", ctypes.c_int),
                ("lse", ctypes.c_int), ("kv_heads", ctypes.c_int64),
                ("strided", ctypes.c_int), ("varlen", ctypes.c_int),
                ("paged", ctypes.c_int), ("page_size", ctypes.c_int64)]


class _Strides(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64 * 4) for name in ("q", "k", "v", "o")]

    @classmethod
    def of(cls, q, k, v, o):
        strides = cls()
        for name, t in zip("qkvo", (q, k, v, o)):
            getattr(strides, name)[:] = t.stride()
        return strides


class _Shape(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_int64), ("heads", ctypes.c_int64),
                ("seq_q", ctypes.c_int64), ("seq_k", ctypes.c_int64),
                ("kv_heads", ctypes.c_int64)]


class _Varlen(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in (
        "sequences", "heads", "kv_heads", "total_q", "total_k",
        "max_seqlen_q", "max_seqlen_k")] + \
        [("cu_seqlens_q", ctypes.c_uint64), ("cu_seqlens_k", ctypes.c_uint64)]


class _Paged(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int64) for name in (
        "batch", "heads", "kv_heads", "seq_q", "num_pages", "page_size",
        "max_pages")] + \
        [("block_table", ctypes.c_uint64), ("seqlens_k", ctypes.c_uint64)]


_lock = threading.RLock()  # attention() compiles while holding it
_compiler = None
_runtime = None


def _compiler_lib():
    global _compiler
    with _lock:
        if _compiler is None:
            lib = _load_library("libflashc_compiler.so")
            vp = ctypes.c_void_p
            lib.flashc_compile_attention.argtypes = [ctypes.POINTER(_Params),
                                                     ctypes.POINTER(vp)]
            lib.flashc_compile_mlir_tuned.argtypes = [
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                ctypes.c_char_p, ctypes.POINTER(vp)]
            lib.flashc_compile_result_bundle.argtypes = [
                vp, ctypes.POINTER(ctypes.c_size_t)]
            lib.flashc_compile_result_bundle.restype = ctypes.POINTER(ctypes.c_char)
            lib.flashc_compile_result_ptx.argtypes = [vp]
            lib.flashc_compile_result_ptx.restype = ctypes.c_char_p
            lib.flashc_compile_result_kernel_name.argtypes = [vp]
            lib.flashc_compile_result_kernel_name.restype = ctypes.c_char_p
            lib.flashc_compile_result_diagnostics.argtypes = [vp]
            lib.flashc_compile_result_diagnostics.restype = ctypes.c_char_p
            lib.flashc_compile_result_destroy.argtypes = [vp]
            _compiler = lib
        return _compiler


# --------------------------------------------------------------------------
# Compiling.

class Kernel:
    """A compiled kernel: its bundle (bytes), PTX and launch metadata."""

    def __init__(self, bundle):
        self.bundle = bundle
        header, _, rest = bundle.partition(b"\nptx ")
        self.metadata = {}
        for line in header.decode().split("\n")[1:]:
            key, _, value = line.partition(" ")
            self.metadata[key] = value
        size, _, body = rest.partition(b"\n")
        self.ptx = body[:int(size)].decode()
        self.kernel_name = self.metadata["kernel"]

    def __repr__(self):
        m = self.metadata
        return (f"<flashc.Kernel {self.kernel_name} {m['arch']} {m['element']} "
                f"head_dim={m['head_dim']} causal={m['causal']}>")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_int(name, value, minimum=1, allow_none=False):
    """`value` as an int, if it is an integer (not a bool, not 2.5) of at
    least `minimum`, or None where allowed; else an error naming `name`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_scale(scale):
    """None (1/sqrt(head_dim)) or a positive finite number."""
    if scale is None:
        return 0.0
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a number or None, got {scale!r}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number or None "
                         f"(1/sqrt(head_dim)), got {scale!r}")
    return float(scale)


_CONFIG_SIZES = ("block_m", "block_n", "stages", "warps")
_CONFIG_KEYS = _CONFIG_SIZES + ("strategy", "kv_splits")


def _apply_config(params, config):
    """A tile config dict (block_m, block_n, stages, warps, and optionally
    strategy and kv_splits) into `params`."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {config!r}")
    unknown = sorted(set(config) - set(_CONFIG_KEYS))
    if unknown:
        raise ValueError(f"config has unknown keys {unknown} (known: "
                         f"{', '.join(_CONFIG_KEYS)})")
    for field in _CONFIG_SIZES:
        if field not in config:
            raise ValueError(f"config needs {field}")
        setattr(params, field, _check_int(f"config {field}", config[field]))
    strategy = config.get("strategy", "mma_sync")
    _check_choice("config strategy", strategy, ("mma_sync", "wmma", "wgmma"))
    params.strategy = strategy.encode()
    params.kv_splits = _check_int("config kv_splits",
                                  config.get("kv_splits", 1))


def compile(head_dim=64, dtype="f16", causal=False, scale=None, arch="sm_89",
            batch=None, heads=None, seq_q=None, seq_k=None, config=None,
            mlir=None, tune_cache=None, kv_heads=None, strided=False):
    """Compiles one attention to a Kernel. Needs neither torch nor a GPU.

    Either describe it (head_dim a multiple of 16 from 32 to 256, dtype
    "f16"/"bf16", causal, scale (a positive number; None:
    1/sqrt(head_dim)), static sizes (integers >= 1) or None for dynamic,
    kv_heads (K/V heads dividing heads; None: as heads), strided (q, k, v,
    o strided<[?, ?, ?, 1]>, strides given at launch), config a dict with block_m, block_n, stages,
    warps and optionally strategy, "mma_sync" (default), "wmma" or
    "wgmma" (arch "sm_90a"), and
    kv_splits), or pass `mlir` text. A wrong argument raises TypeError or
    ValueError naming it; nothing is rounded or guessed.
    Without a config, tiles come from the tune cache `flashc tune` writes
    (`tune_cache`: None for flashc's default, $FLASHC_TUNE_CACHE else
    ~/.cache/flashc/tune.txt; "" for none), else from flashc's heuristic.
    Raises CompileError with the compiler's diagnostics on failure.
    """
    _check_choice("arch", arch, SUPPORTED_ARCHS)
    lib = _compiler_lib()
    result = ctypes.c_void_p()
    cache = None if tune_cache is None else os.fsencode(tune_cache)
    if mlir is not None:
        text = mlir.encode() if isinstance(mlir, str) else bytes(mlir)
        status = lib.flashc_compile_mlir_tuned(text, len(text), arch.encode(),
                                               cache, ctypes.byref(result))
    else:
        _check_choice("dtype", dtype, tuple(_DTYPES))
        if not isinstance(causal, bool):
            raise TypeError(f"causal must be True or False, got {causal!r}")
        params = _Params()
        params.head_dim = _check_int("head_dim", head_dim)
        params.dtype = _DTYPES[dtype]
        params.causal = 1 if causal else 0
        params.scale = _check_scale(scale)
        params.arch = arch.encode()
        params.tune_cache = cache
        for field, value in (("batch", batch), ("heads", heads),
                             ("seq_q", seq_q), ("seq_k", seq_k),
                             ("kv_heads", kv_heads)):
            value = _check_int(field, value, allow_none=True)
            setattr(params, field, 0 if value is None else value)
        if not isinstance(strided, bool):
            raise TypeError(f"strided must be True or False, got {strided!r}")
        params.strided = 1 if strided else 0
        if config is not None:
            _apply_config(params, config)
        status = lib.flashc_compile_attention(ctypes.byref(params),
                                              ctypes.byref(result))
    try:
        if status != 0:
            raise CompileError(
                lib.flashc_compile_result_diagnostics(result).decode())
        size = ctypes.c_size_t()
        data = lib.flashc_compile_result_bundle(result, ctypes.byref(size))
        return Kernel(ctypes.string_at(data, size.value))
    finally:
        lib.flashc_compile_result_destroy(result)


# --------------------------------------------------------------------------
# The disk cache.

def cache_dir():
    return os.environ.get("FLASHC_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "flashc")


def _tune_tag():
    """'_t' and a digest of the tune cache compile() would read by default,
    or '' without one: a bundle compiled under other tuning results is a
    different file, so that `flashc tune` takes effect here."""
    path = os.environ.get("FLASHC_TUNE_CACHE")
    if path is None:  # the library's rule: set (even empty) wins
        path = os.path.join(os.path.expanduser("~"), ".cache", "flashc",
                            "tune.txt")
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            return "_t" + hashlib.sha1(f.read()).hexdigest()[:12]
    except OSError:
        return ""


def _cache_path(dtype, head_dim, causal, scale, arch, seq_q=None):
    scale_tag = "default" if scale is None else float(scale).hex()
    queries = "" if seq_q is None else f"_q{seq_q}"
    name = (f"{dtype}_d{head_dim}_{'causal' if causal else 'full'}_"
            f"s{scale_tag}{queries}_{arch}{_tune_tag()}_v{__version__}.bundle")
    return os.path.join(cache_dir(), name)


def _short_queries(seq_q):
    """The static query length to compile for: a length of at most 64 (a
    decode step, a short chunk) gets its own kernel, of 64-row blocks that
    may split the K/V loop at launch; longer ones share a dynamic kernel."""
    return seq_q if seq_q <= 64 else None


def _cached_bundle(dtype, head_dim, causal, scale, arch, seq_q=None):
    path = _cache_path(dtype, head_dim, causal, scale, arch, seq_q)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    bundle = compile(head_dim=head_dim, dtype=dtype, causal=causal,
                     scale=scale, arch=arch, seq_q=seq_q).bundle
    _write_cache_file(path, bundle)
    return bundle


def _write_cache_file(path, bundle):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Written whole or not at all: a temporary file renamed into place.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes 0600 files; kernels are no secret, and a cache
            # shared between users should be readable by them.
            os.fchmod(f.fileno(), 0o644)
            f.write(bundle)
        os.replace(tmp, path)
    except BaseException:
        # No half-written leftovers: the next call compiles again.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def warm_cache(dtype="f16", head_dim=64, causal=False, scale=None, arch="sm_90a",
               seq_q=None):
    """Compiles into the disk cache ahead of time; returns the file's path.
    seq_q: the query length of the kernel (one of at most 64 takes a
    kernel of its own; with grouped-query attention and no mask,
    `attention` runs group · seq_q rows a K/V head); None for longer ones."""
    _check_choice("dtype", dtype, tuple(_DTYPES))
    _check_choice("arch", arch, SUPPORTED_ARCHS)
    _check_int("head_dim", head_dim)
    _check_scale(scale)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    seq_q = _check_int("seq_q", seq_q, allow_none=True)
    short = None if seq_q is None else _short_queries(seq_q)
    _cached_bundle(dtype, head_dim, causal, scale, arch, short)
    return _cache_path(dtype, head_dim, causal, scale, arch, short)


# --------------------------------------------------------------------------
# Running on PyTorch tensors.

class _Capture(ctypes.Structure):
    _fields_ = [("data", ctypes.c_uint64), ("sizes", ctypes.c_int64 * 8),
                ("int_value", ctypes.c_int64), ("float_value", ctypes.c_double)]


def _fill_captures(torch, array, values, start=0):
    """Fills array[start:] (of _Capture) with the values: a tensor's data
    pointer and sizes, or a Python number."""
    for slot, value in zip(array[start:], values):
        if isinstance(value, torch.Tensor):
            slot.data = value.data_ptr()
            slot.sizes[:value.dim()] = list(value.shape)
        elif isinstance(value, float):
            slot.float_value = value
        else:
            slot.int_value = int(value)


class _Runtime:
    """The runtime's C API on one device, by ctypes: what `attention` runs
    on, and what bench/bench.py times (so that both launch the same way)."""

    def __init__(self, device):
        lib = _load_library("libflashc_runtime.so")
        vp = ctypes.c_void_p
        lib.flashc_runtime_create.argtypes = [ctypes.c_int, ctypes.POINTER(vp)]
        lib.flashc_runtime_last_error.argtypes = [vp]
        lib.flashc_runtime_last_error.restype = ctypes.c_char_p
        lib.flashc_runtime_device_name.argtypes = [vp]
        lib.flashc_runtime_device_name.restype = ctypes.c_char_p
        lib.flashc_kernel_load.argtypes = [vp, ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.POINTER(vp)]
        lib.flashc_kernel_launch.argtypes = [vp, ctypes.POINTER(_Shape)] + \
            [ctypes.c_uint64] * 4 + [vp]
        lib.flashc_kernel_launch_with.argtypes = \
            [vp, ctypes.POINTER(_Shape)] + [ctypes.c_uint64] * 5 + \
            [ctypes.POINTER(_Capture), ctypes.c_size_t, vp]
        lib.flashc_kernel_launch_with_map.argtypes = \
            [vp, ctypes.POINTER(_Shape)] + [ctypes.c_uint64] * 5 + \
            [ctypes.POINTER(_Capture), ctypes.c_size_t, vp, vp]
        lib.flashc_kernel_launch_strided.argtypes = \
            [vp, ctypes.POINTER(_Shape), ctypes.POINTER(_Strides)] + \
            [ctypes.c_uint64] * 5 + [ctypes.POINTER(_Capture), ctypes.c_size_t,
                                     vp, vp]
        lib.flashc_block_map_build.argtypes = \
            [vp, ctypes.POINTER(_Shape)] + [ctypes.c_uint64] * 5 + \
            [ctypes.POINTER(_Capture), ctypes.c_size_t, vp, ctypes.POINTER(vp)]
        lib.flashc_block_map_destroy.argtypes = [vp]
        lib.flashc_kernel_set_kv_splits.argtypes = [vp, ctypes.c_int64]
        lib.flashc_kernel_kv_splits.argtypes = [
            vp, ctypes.POINTER(_Shape), ctypes.POINTER(ctypes.c_int64)]
        lib.flashc_kernel_launch_varlen.argtypes = \
            [vp, ctypes.POINTER(_Varlen), ctypes.POINTER(_Strides)] + \
            [ctypes.c_uint64] * 5 + [ctypes.POINTER(_Capture),
                                     ctypes.c_size_t, vp]
        lib.flashc_kernel_launch_paged.argtypes = \
            [vp, ctypes.POINTER(_Paged), ctypes.POINTER(_Strides)] + \
            [ctypes.c_uint64] * 5 + [ctypes.POINTER(_Capture),
                                     ctypes.c_size_t, vp]
        lib.flashc_kernel_has_lse.argtypes = [vp]
        lib.flashc_kernel_num_captures.argtypes = [vp]
        self.lib = lib
        self.handle = vp()
        if lib.flashc_runtime_create(device, ctypes.byref(self.handle)) != 0:
            raise FlashcError("flashc runtime: " + self.error())
        self.kernels = {}

    def error(self):
        return self.lib.flashc_runtime_last_error(self.handle).decode()

    def device_name(self):
        return self.lib.flashc_runtime_device_name(self.handle).decode()

    def load(self, bundle):
        """A kernel handle for the bundle's bytes (not cached)."""
        handle = ctypes.c_void_p()
        if self.lib.flashc_kernel_load(self.handle, bundle, len(bundle),
                                       ctypes.byref(handle)) != 0:
            raise FlashcError("flashc runtime: " + self.error())
        return handle

    def kernel(self, key, bundle):
        if key not in self.kernels:
            self.kernels[key] = self.load(bundle)
        return self.kernels[key]

    def launch(self, kernel, q, k, v, out):
        """Launches on torch tensors, on q's device's current stream."""
        import torch
        shape = _Shape(q.shape[0], q.shape[1], q.shape[2], k.shape[2], k.shape[1])
        stream = ctypes.c_void_p(torch.cuda.current_stream(q.device).cuda_stream)
        if self.lib.flashc_kernel_launch(kernel, ctypes.byref(shape),
                                         q.data_ptr(), k.data_ptr(),
                                         v.data_ptr(), out.data_ptr(),
                                         stream) != 0:
            raise FlashcError("flashc launch: " + self.error())


    def set_kv_splits(self, kernel, splits):
        """Fixes the split count of `kernel`'s launches (0: chosen per
        launch; flashc_kernel_set_kv_splits)."""
        if self.lib.flashc_kernel_set_kv_splits(kernel, splits) != 0:
            raise FlashcError(self.error())

    def kv_splits(self, kernel, q, k):
        """The split count a launch on q and k uses."""
        shape = _Shape(q.shape[0], q.shape[1], q.shape[2], k.shape[2], k.shape[1])
        count = ctypes.c_int64()
        if self.lib.flashc_kernel_kv_splits(kernel, ctypes.byref(shape),
                                            ctypes.byref(count)) != 0:
            raise FlashcError(self.error())
        return count.value

    def _arguments(self, q, k, captures):
        import torch
        shape = _Shape(q.shape[0], q.shape[1], q.shape[2], k.shape[2], k.shape[1])
        array = (_Capture * max(1, len(captures)))()
        _fill_captures(torch, array, captures)
        stream = ctypes.c_void_p(torch.cuda.current_stream(q.device).cuda_stream)
        return shape, array, stream

    def launch_with(self, kernel, q, k, v, out, lse=None, captures=(),
                    block_map=None, strided=False):
        """launch, with the LSE output (a float32 [batch, heads, seq_q]
        tensor, or None), the captures: contiguous tensors (passed with
        their sizes) or Python numbers (int or float scalars), a block map
        built by build_block_map (None: built by the launch), and with
        `strided` (a kernel compiled for strided q, k, v, o) the tensors'
        strides."""
        shape, array, stream = self._arguments(q, k, captures)
        strides = ctypes.byref(_Strides.of(q, k, v, out)) if strided else None
        if self.lib.flashc_kernel_launch_strided(
                kernel, ctypes.byref(shape), strides, q.data_ptr(),
                k.data_ptr(), v.data_ptr(), out.data_ptr(),
                lse.data_ptr() if lse is not None else 0, array,
                len(captures), block_map.handle if block_map else None,
                stream) != 0:
            raise FlashcError("flashc launch: " + self.error())

    def launch_varlen(self, kernel, q, k, v, out, cu_seqlens_q, cu_seqlens_k,
                      max_seqlen_q, max_seqlen_k, lse=None, captures=()):
        """Launches a varlen kernel on the [1, heads, total, head_dim]
        views q, k, v, out (flashc_kernel_launch_varlen)."""
        _, array, stream = self._arguments(q, k, captures)
        varlen = _Varlen(cu_seqlens_q.shape[0] - 1, q.shape[1], k.shape[1],
                         q.shape[2], k.shape[2], max_seqlen_q, max_seqlen_k,
                         cu_seqlens_q.data_ptr(), cu_seqlens_k.data_ptr())
        if self.lib.flashc_kernel_launch_varlen(
                kernel, ctypes.byref(varlen),
                ctypes.byref(_Strides.of(q, k, v, out)), q.data_ptr(),
                k.data_ptr(), v.data_ptr(), out.data_ptr(),
                lse.data_ptr() if lse is not None else 0, array,
                len(captures), stream) != 0:
            raise FlashcError("flashc launch: " + self.error())

    def launch_paged(self, kernel, q, k_cache, v_cache, out, block_table,
                     seqlens_k, lse=None, captures=()):
        """Launches a paged kernel on q, out [batch, heads, seq_q,
        head_dim] and the caches as [pages, kv_heads, page_size, head_dim]
        views (flashc_kernel_launch_paged)."""
        _, array, stream = self._arguments(q, k_cache, captures)
        paged = _Paged(q.shape[0], q.shape[1], k_cache.shape[1], q.shape[2],
                       k_cache.shape[0], k_cache.shape[2], block_table.shape[1],
                       block_table.data_ptr(), seqlens_k.data_ptr())
        if self.lib.flashc_kernel_launch_paged(
                kernel, ctypes.byref(paged),
                ctypes.byref(_Strides.of(q, k_cache, v_cache, out)),
                q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(),
                out.data_ptr(), lse.data_ptr() if lse is not None else 0,
                array, len(captures), stream) != 0:
            raise FlashcError("flashc launch: " + self.error())

    def build_block_map(self, kernel, q, k, v, out, lse=None, captures=()):
        """The block map of a launch with these arguments (BlockMap)."""
        shape, array, stream = self._arguments(q, k, captures)
        handle = ctypes.c_void_p()
        if self.lib.flashc_block_map_build(
                kernel, ctypes.byref(shape), q.data_ptr(), k.data_ptr(),
                v.data_ptr(), out.data_ptr(),
                lse.data_ptr() if lse is not None else 0, array,
                len(captures), stream, ctypes.byref(handle)) != 0:
            raise FlashcError("flashc block map: " + self.error())
        return BlockMap(self, handle)


class BlockMap:
    """Which key blocks each query block sees, for a data-dependent mask:
    built once (flashc.block_map), given to any number of
    flashc.attention calls of the same shape and mask data. A
    differentiable call's backward keeps its two programs' maps here too
    (built on the first backward that gets this map: the same promise)."""

    def __init__(self, runtime, handle):
        self.runtime, self.handle = runtime, handle
        self.derived = {}  # (kernel, shape) -> BlockMap of another kernel

    def for_kernel(self, key, build):
        """The map of another kernel under the same promise, by `key`
        (kernel and shape): built by `build()` once."""
        derived = self.derived.get(key)
        if derived is None:
            derived = self.derived[key] = build()
        return derived

    def __del__(self):
        if self.handle:
            self.runtime.lib.flashc_block_map_destroy(self.handle)
            self.handle = None


_runtimes = {}


def _device_arch(torch, device):
    major, minor = torch.cuda.get_device_capability(device)
    arch = f"sm_{major}{minor}"
    # Hopper (9.0) takes its own PTX, sm_90a, with wgmma.
    if (major, minor) == (9, 0):
        return "sm_90a"
    # Otherwise PTX for the newest portable arch not above the device's runs
    # there (the driver JIT-compiles it; sm_90a PTX runs on 9.0 only).
    candidates = [a for a in SUPPORTED_ARCHS if not a.endswith("a")
                  and int(a[3:]) <= major * 10 + minor]
    if not candidates:
        raise ValueError(f"flashc needs sm_80 or newer, the device is {arch}")
    return arch if arch in SUPPORTED_ARCHS else candidates[-1]


def attention_mlir(head_dim=64, dtype="f16", causal=False, scale=None,
                   score_mod=None, mask_mod=None, bottom_right=False,
                   lse=False, capture_types=(), strided=False, seq_q=None,
                   varlen=False, paged=False):
    """The MLIR module `attention` compiles for these arguments, with
    dynamic batch, heads and sequence lengths (the query length static
    where `seq_q` is given; and with `strided`, strides given at launch),
    and the captured tensors the modifiers index: (text, [tensor, ...]).
    With `varlen`, the module `varlen_attention` compiles: packed
    sequences (batch 1, strided) bounded by two i32 cu_seqlens operands.
    With `paged`, the module `paged_attention` compiles: K and V a paged
    cache (strided), read through an i32 block table and key lengths.

    score_mod / mask_mod: Python functions (traced by flashc.mods), or MLIR
    text of the whole region (`score_mod { ... }`) whose captures' memref
    types are `capture_types`. Needs neither torch nor a GPU. A traced
    function's kernel assumes batches, heads and positions below
    mods.COORDINATE_LIMIT, which flashc.attention checks and this does
    not.
    """
    _check_choice("dtype", dtype, tuple(_DTYPES))
    _check_int("head_dim", head_dim)
    _check_scale(scale)
    for name, flag in (("causal", causal), ("bottom_right", bottom_right),
                       ("lse", lse), ("strided", strided),
                       ("varlen", varlen), ("paged", paged)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if bottom_right and not causal:
        raise ValueError("bottom_right aligns the causal mask: it needs causal=True")
    texts = [f for f in (score_mod, mask_mod) if isinstance(f, str)]
    functions = [f if not isinstance(f, str) else None
                 for f in (score_mod, mask_mod)]
    regions, captured, types = mods.trace(*functions)
    if texts and captured:
        raise ValueError("give the modifiers both as functions or both as "
                         "MLIR text")
    if texts:
        regions = "\n".join(texts)
        types = list(capture_types)
    seq_q = _check_int("seq_q", seq_q, allow_none=True)
    if varlen and seq_q is not None:
        raise ValueError("varlen kernels take the query lengths at launch: "
                         "give no seq_q")
    queries = "?" if seq_q is None else str(seq_q)
    # Varlen: the packed [total, heads, head_dim] tensors as [1, heads,
    # total, head_dim] views, whose strides come at launch.
    batch = "1" if varlen else "?"
    if varlen and paged:
        raise ValueError("varlen and paged together are not supported yet")
    layout = ", strided<[?, ?, ?, 1]>>" if strided or varlen or paged else ">"
    t = f"memref<{batch}x?x?x{head_dim}x{dtype}" + layout
    tq = f"memref<{batch}x?x{queries}x{head_dim}x{dtype}" + layout
    lse_type = f"memref<{batch}x?x{queries}xf32>"
    # Names a region's own (isolated) names are unlikely to take: MLIR
    # refuses a region argument that shadows one of the function's.
    args = [f"%attn_q: {tq}", f"%attn_k: {t}", f"%attn_v: {t}", f"%attn_o: {tq}"]
    clauses = []
    if lse:
        args.append(f"%attn_lse: {lse_type}")
        clauses.append(f"lse(%attn_lse : {lse_type})")
    if varlen:
        args += ["%attn_cu_q: memref<?xi32>", "%attn_cu_k: memref<?xi32>"]
        clauses.append("varlen(%attn_cu_q, %attn_cu_k : memref<?xi32>, "
                       "memref<?xi32>)")
    if paged:
        args += ["%attn_table: memref<?x?xi32>", "%attn_seqlens_k: memref<?xi32>"]
        clauses.append("paged(%attn_table, %attn_seqlens_k : memref<?x?xi32>, "
                       "memref<?xi32>)")
    if causal:
        clauses.append("causal bottom_right" if bottom_right else "causal")
    if scale is not None:
        clauses.append(f"scale({float(scale):.9e})")
    if types:
        args += [f"%attn_c{i}: {ty}" for i, ty in enumerate(types)]
        clauses.append("captures(" + ", ".join(f"%attn_c{i}" for i in range(len(types)))
                       + " : " + ", ".join(types) + ")")
    text = (f"func.func @attention({', '.join(args)}) {{\n"
            f"  flash.attention %attn_q, %attn_k, %attn_v -> %attn_o "
            f"{' '.join(clauses)}\n"
            f"      : {tq}, {t}, {t} -> {tq}\n{regions}\n  return\n}}\n")
    return text, captured


def _modified_bundle(text, arch):
    """The bundle of a modified attention's MLIR text: from memory, the disk
    cache (keyed by the text), or compiled."""
    digest = hashlib.sha1(text.encode()).hexdigest()[:20]
    path = os.path.join(cache_dir(), f"mods_{digest}_{arch}{_tune_tag()}_"
                        f"v{__version__}.bundle")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    bundle = compile(mlir=text, arch=arch).bundle
    _write_cache_file(path, bundle)
    return bundle


def _readable_in_place(t, check_alignment=True):
    """Whether the kernel can read (or write) tensor `t` through its
    strides: a unit head_dim stride (a [batch, seq, heads, head_dim]
    tensor's .transpose(1, 2) qualifies), the other strides positive
    multiples of 8 and 16-byte alignment (rows move in 16-byte chunks;
    not checked for a fresh allocation, or a fake tensor without data)."""
    return t.stride(-1) == 1 and all(s >= 1 and s % 8 == 0
                                     for s in t.stride()[:3]) and \
        (not check_alignment or t.data_ptr() % 16 == 0)


def _not_empty(name, t):
    if min(t.shape) < 1:
        raise ValueError(f"{name} has an empty dimension: {tuple(t.shape)}")


def _check_operands(torch, operands, each=None):
    """The checks every attention call makes of its three tensors
    ((name, tensor, layout) each: a CUDA float16 or bfloat16 tensor of the
    layout's rank, then `each(name, tensor)`), and of them together: one
    dtype, one device, the last two of one shape."""
    for name, t, layout in operands:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_cuda:
            raise ValueError(f"{name} must be a CUDA tensor, got device {t.device}")
        if t.dtype not in (torch.float16, torch.bfloat16):
            raise TypeError(f"{name} must be float16 or bfloat16, got {t.dtype}")
        rank = layout.count(",") + 1
        if t.dim() != rank:
            raise ValueError(f"{name} must have {rank} dims {layout}, got "
                             f"shape {tuple(t.shape)}")
        if each:
            each(name, t)
    names = ", ".join(name for name, _, _ in operands)
    tensors = [t for _, t, _ in operands]
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"{names} must share a dtype, got "
                        + ", ".join(str(t.dtype) for t in tensors))
    if len({t.device for t in tensors}) > 1:
        raise ValueError(f"{names} must be on one device")
    (first, a, _), (second, b, _) = operands[1], operands[2]
    if a.shape != b.shape:
        raise ValueError(f"{first} and {second} must have one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")


def attention(q, k, v, causal=False, scale=None, score_mod=None,
              mask_mod=None, bottom_right=False, return_lse=False,
              captures=(), block_map=None, _build_map=False,
              _differentiable=True):
    """softmax(mod(scale · q·kᵀ) [masked]) · v on CUDA tensors [batch, heads, seq, head_dim].

    q, k, v: contiguous torch.float16 or torch.bfloat16 CUDA tensors on one
    device; k and v share their shape; q may have another seq, and more
    heads than k and v, a multiple of theirs (grouped-query attention, as
    FlashAttention takes it: query head h reads k/v head
    h // (heads // kv_heads); score_mod and mask_mod see the query head).
    q, k, v may be views with a unit head_dim stride, read in place (a
    [batch, seq, heads, head_dim] tensor's .transpose(1, 2)). Returns a new
    tensor shaped (and strided) like q, and with return_lse=True also the rows'
    log-sum-exp (float32 [batch, heads, seq_q]). Runs on the current CUDA
    stream.

    score_mod(score, b, h, q_idx, kv_idx) and mask_mod(b, h, q_idx, kv_idx)
    are FlexAttention-style Python functions, traced into the kernel
    (flashc.mods); tensors they index must be contiguous CUDA tensors on
    q's device. Kernels are compiled once per trace and cached. They may
    also be MLIR region text, with `captures` the tensors or numbers their
    extra arguments take. bottom_right=True aligns the causal mask
    bottom-right (query i sees keys j <= i + seq_k - seq_q). A mask_mod
    that reads data builds a block map on every call; `block_map` (from
    flashc.block_map with the same arguments) skips that.

    Differentiable (torch.autograd) and traceable by torch.compile without
    graph breaks when no modifier is given: see docs/Backward.md.
    """
    try:
        import torch
    except ImportError as e:
        raise ImportError("flashc.attention needs PyTorch; flashc.compile "
                          "works without it") from e
    from . import _autograd
    modified = score_mod is not None or mask_mod is not None or \
        bool(captures) or block_map is not None or _build_map
    # (Building a block map records nothing for autograd.)
    if modified and not _build_map and _differentiable and \
            _autograd.records_grad(q, k, v):
        # Python modifiers are differentiated on tensors; MLIR text is not.
        if isinstance(score_mod, str) or isinstance(mask_mod, str) or \
                captures:
            _autograd.refuse_gradients(
                "attention with modifiers as MLIR text", q, k, v)
        options = dict(causal=causal, scale=scale, score_mod=score_mod,
                       mask_mod=mask_mod, bottom_right=bottom_right,
                       block_map=block_map)
        out, lse = _autograd.ModifiedAttention.apply(q, k, v, options)
        return (out, lse) if return_lse else out
    if not modified and _differentiable and _autograd.wanted(q, k, v):
        # Checked here so that the op's schema never sees a wrong type; the
        # tensors are checked by the op's call of this function.
        _check_scale(scale)
        for name, flag in (("causal", causal), ("bottom_right", bottom_right),
                           ("return_lse", return_lse)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        out, lse = _autograd.differentiable_attention(q, k, v, causal,
                                                      scale, bottom_right)
        return (out, lse) if return_lse else out
    from . import _plans
    if not modified:
        return _plans.attention(q, k, v, causal, scale, bottom_right,
                                return_lse)
    if not (captures or _build_map or isinstance(score_mod, str) or
            isinstance(mask_mod, str)):  # Python functions
        out, lse, _ = _plans.modified_attention(
            q, k, v, causal, scale, bottom_right, return_lse, score_mod,
            mask_mod, block_map)
        return (out, lse) if return_lse else out
    dtype, runtime, arch, strided, out = _prepare(torch, q, k, v, scale,
                                                  causal)
    head_dim = q.shape[3]
    short = _short_queries(q.shape[2])
    if callable(score_mod) or callable(mask_mod):
        _check_coordinates(*q.shape[:3], k.shape[2])
    capture_types = [_capture_type(torch, c, i) for i, c in enumerate(captures)]
    text, traced = attention_mlir(head_dim, dtype, causal, scale, score_mod,
                                  mask_mod, bottom_right, return_lse,
                                  capture_types, strided, short)
    kernel, values = _traced_kernel(runtime, torch, q, text, traced, captures,
                                    arch)
    lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device) \
        if return_lse else None
    if _build_map:
        return runtime.build_block_map(kernel, q, k, v, out, lse, values)
    runtime.launch_with(kernel, q, k, v, out, lse, values, block_map, strided)
    return (out, lse) if return_lse else out


def _prepare(torch, q, k, v, scale, causal):
    """attention's checks, then (dtype, runtime, arch, strided, out): views
    (strides other than row-major) take a kernel compiled for strides given
    at launch, and the output gets q's layout."""
    from . import _autograd
    _check_attention(torch, q, k, v, scale, causal)
    dtype = "f16" if q.dtype == torch.float16 else "bf16"
    runtime, arch = _runtime_of(torch, q)
    strided = not all(t.is_contiguous() for t in (q, k, v))
    return dtype, runtime, arch, strided, _autograd.output_like(q, k, v)


def _check_attention(torch, q, k, v, scale, causal):
    """The checks of attention's operands and of its scale and causal."""
    def readable(name, t):
        if not _readable_in_place(t):
            raise ValueError(f"{name} needs a unit stride on head_dim, the "
                             "other strides positive multiples of 8 and "
                             "16-byte alignment, got strides "
                             f"{tuple(t.stride())} (call .contiguous())")
    layout = "[batch, heads, seq, head_dim]"
    _check_operands(torch, (("q", q, layout), ("k", k, layout),
                            ("v", v, layout)), each=readable)
    if q.shape[0] != k.shape[0] or q.shape[3] != k.shape[3]:
        raise ValueError(f"q {tuple(q.shape)} and k {tuple(k.shape)} must agree "
                         "on batch and head_dim")
    if k.shape[1] < 1 or q.shape[1] % k.shape[1] != 0:
        raise ValueError(f"k's heads ({k.shape[1]}) must divide q's "
                         f"({q.shape[1]}): grouped-query attention, query "
                         "head h reads k/v head h // (heads // kv_heads)")
    if q.shape[3] not in SUPPORTED_HEAD_DIMS:
        raise ValueError("head_dim must be a multiple of 16 from 32 to 256, "
                         f"got {q.shape[3]}")
    if min(q.shape) < 1 or min(k.shape) < 1:
        raise ValueError("every dimension must be at least 1")
    _check_scale(scale)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")


def _runtime_of(torch, q):
    """The runtime of q's device (made on first use) and its arch."""
    device = q.device.index if q.device.index is not None else torch.cuda.current_device()
    arch = _device_arch(torch, device)
    with _lock:
        runtime = _runtimes.get(device)
        if runtime is None:
            with torch.cuda.device(device):
                torch.zeros(1, device=q.device)  # torch's context first
                runtime = _runtimes[device] = _Runtime(device)
    return runtime, arch


def _check_coordinates(*sizes):
    """Python modifiers are traced for batch, head and position coordinates
    below mods.COORDINATE_LIMIT (their index arithmetic may narrow to 32
    bits): a call with a larger dimension is refused."""
    if max(sizes) >= mods.COORDINATE_LIMIT:
        raise ValueError("Python modifiers take batches, heads and sequence "
                         f"positions below 2**30; this call has {max(sizes)}")


def _check_captured(torch, q, values):
    """Captured tensors must be contiguous and on q's device."""
    for i, value in enumerate(values):
        if isinstance(value, torch.Tensor) and (
                value.device != q.device or not value.is_contiguous()):
            raise ValueError(f"captured tensor #{i} must be contiguous and on "
                             f"{q.device}, got {value.device}")


def _traced_kernel(runtime, torch, q, text, traced, captures, arch):
    """The kernel of a module's text (cached) and its capture values."""
    values = list(traced) if traced else list(captures)
    _check_captured(torch, q, values)
    key = ("mods", text, arch)
    kernel = runtime.kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = runtime.kernel(key, _modified_bundle(text, arch))
    return kernel, values


def varlen_attention(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                     max_seqlen_k, causal=False, scale=None, score_mod=None,
                     mask_mod=None, bottom_right=False, return_lse=False,
                     captures=()):
    """Attention over sequences of different lengths packed in one batch,
    as FlashAttention's flash_attn_varlen_func takes them.

    q: [total_q, heads, head_dim]; k, v: [total_k, kv_heads, head_dim]
    (float16 or bfloat16 CUDA tensors, a unit head_dim stride, the other
    strides multiples of 8: slices of a packed QKV tensor are read in
    place). Sequence i owns rows cu_seqlens_q[i]:cu_seqlens_q[i + 1] of q
    and cu_seqlens_k[i]:cu_seqlens_k[i + 1] of k and v; cu_seqlens_q/k are
    int32 CUDA tensors [sequences + 1], non-decreasing from 0 (their
    contents are not checked: that would wait for the GPU). max_seqlen_q
    and max_seqlen_k are the longest lengths (a longer query sequence is
    cut short). causal, scale, bottom_right (FlashAttention's causal is
    bottom_right=True), score_mod, mask_mod and captures are as for
    `attention`, per sequence: the modifiers' b is the sequence, q_idx and
    kv_idx count from its start. Returns out [total_q, heads, head_dim],
    and with return_lse=True also the log-sum-exp, float32 [heads,
    total_q]. Runs on the current CUDA stream.
    """
    try:
        import torch
    except ImportError as e:
        raise ImportError("flashc.varlen_attention needs PyTorch") from e
    from . import _autograd
    _autograd.refuse_gradients("varlen_attention", q, k, v)
    layout = "[total, heads, head_dim]"
    _check_operands(torch, (("q", q, layout), ("k", k, layout),
                            ("v", v, layout)), each=_not_empty)
    if q.shape[2] != k.shape[2]:
        raise ValueError(f"q {tuple(q.shape)} and k {tuple(k.shape)} must agree "
                         "on head_dim")
    if q.shape[1] % k.shape[1] != 0:
        raise ValueError(f"k's heads ({k.shape[1]}) must divide q's "
                         f"({q.shape[1]}): grouped-query attention")
    if q.shape[2] not in SUPPORTED_HEAD_DIMS:
        raise ValueError("head_dim must be a multiple of 16 from 32 to 256, "
                         f"got {q.shape[2]}")
    for name, cu in (("cu_seqlens_q", cu_seqlens_q),
                     ("cu_seqlens_k", cu_seqlens_k)):
        if not isinstance(cu, torch.Tensor) or cu.dtype != torch.int32 or \
                cu.dim() != 1 or cu.shape[0] < 2:
            raise TypeError(f"{name} must be an int32 tensor [sequences + 1], "
                            f"got {getattr(cu, 'dtype', type(cu).__name__)} "
                            f"of shape {tuple(getattr(cu, 'shape', ()))}")
        if cu.device != q.device or not cu.is_contiguous():
            raise ValueError(f"{name} must be contiguous and on {q.device}")
    if cu_seqlens_q.shape != cu_seqlens_k.shape:
        raise ValueError("cu_seqlens_q and cu_seqlens_k must have one length "
                         f"(sequences + 1), got {cu_seqlens_q.shape[0]} and "
                         f"{cu_seqlens_k.shape[0]}")
    for name, value, total in (("max_seqlen_q", max_seqlen_q, q.shape[0]),
                               ("max_seqlen_k", max_seqlen_k, k.shape[0])):
        if isinstance(value, bool) or not isinstance(value, int) or \
                not 1 <= value <= total:
            raise ValueError(f"{name} must be an int from 1 to {total} (the "
                             f"packed length), got {value!r}")
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    views = [t.unsqueeze(0).transpose(1, 2) for t in (q, k, v)]
    for name, t in zip(("q", "k", "v"), views):
        if not _readable_in_place(t):
            raise ValueError(f"{name} needs a unit stride on head_dim, the "
                             "other strides multiples of 8 and 16-byte "
                             f"alignment, got strides {tuple(t.stride())[1:]}"
                             " (call .contiguous())")
    dtype = "f16" if q.dtype == torch.float16 else "bf16"
    runtime, arch = _runtime_of(torch, q)
    if callable(score_mod) or callable(mask_mod):
        _check_coordinates(q.shape[0], k.shape[0], q.shape[1],
                           cu_seqlens_q.shape[0])
    capture_types = [_capture_type(torch, c, i) for i, c in enumerate(captures)]
    text, traced = attention_mlir(q.shape[2], dtype, causal, scale, score_mod,
                                  mask_mod, bottom_right, return_lse,
                                  capture_types, varlen=True)
    kernel, values = _traced_kernel(runtime, torch, q, text, traced, captures,
                                    arch)
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    lse = torch.empty((q.shape[1], q.shape[0]), dtype=torch.float32,
                      device=q.device) if return_lse else None
    runtime.launch_varlen(kernel, *views, out.unsqueeze(0).transpose(1, 2),
                          cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                          max_seqlen_k, lse, values)
    return (out, lse) if return_lse else out


def paged_attention(q, k_cache, v_cache, block_table, seqlens_k, causal=False,
                    scale=None, score_mod=None, mask_mod=None,
                    bottom_right=False, return_lse=False, captures=()):
    """Attention against a paged K/V cache, as FlashAttention's
    flash_attn_with_kvcache takes it (decoding and chunked prefill).

    q: [batch, seq_q, heads, head_dim] (FlashAttention's layout); k_cache,
    v_cache: [num_pages, page_size, kv_heads, head_dim], page_size a
    multiple of 16 (float16 or bfloat16 CUDA tensors; views with a unit
    head_dim stride and the other strides multiples of 8 are read in
    place); block_table: int32 [batch, max_pages], sequence b's pages in
    order; seqlens_k: int32 [batch], its key length (keys j < seqlens_k[b]
    are row j % page_size of page block_table[b, j // page_size]; the
    tables' contents are not checked: that would wait for the GPU).
    causal, scale, bottom_right (FlashAttention's causal is
    bottom_right=True), score_mod, mask_mod and captures as for
    `attention`. Returns out [batch, seq_q, heads, head_dim], and with
    return_lse=True also the log-sum-exp, float32 [batch, heads, seq_q].
    Runs on the current CUDA stream.
    """
    try:
        import torch
    except ImportError as e:
        raise ImportError("flashc.paged_attention needs PyTorch") from e
    from . import _autograd
    _autograd.refuse_gradients("paged_attention", q, k_cache, v_cache)
    cache = "[pages, page_size, kv_heads, head_dim]"
    _check_operands(torch, (("q", q, "[batch, seq_q, heads, head_dim]"),
                            ("k_cache", k_cache, cache),
                            ("v_cache", v_cache, cache)), each=_not_empty)
    batch, seq_q, heads, head_dim = q.shape
    pages, page_size, kv_heads, _ = k_cache.shape
    if k_cache.shape[3] != head_dim:
        raise ValueError(f"q {tuple(q.shape)} and k_cache "
                         f"{tuple(k_cache.shape)} must agree on head_dim")
    if heads % kv_heads != 0:
        raise ValueError(f"the cache's heads ({kv_heads}) must divide q's "
                         f"({heads}): grouped-query attention")
    if head_dim not in SUPPORTED_HEAD_DIMS:
        raise ValueError("head_dim must be a multiple of 16 from 32 to 256, "
                         f"got {head_dim}")
    if page_size % 16 != 0:
        raise ValueError(f"page_size must be a multiple of 16, got {page_size}")
    for name, t, shape in (("block_table", block_table, "[batch, max_pages]"),
                           ("seqlens_k", seqlens_k, "[batch]")):
        rank = 2 if name == "block_table" else 1
        if not isinstance(t, torch.Tensor) or t.dtype != torch.int32 or \
                t.dim() != rank or t.shape[0] != batch or min(t.shape) < 1:
            raise TypeError(f"{name} must be an int32 tensor {shape} with "
                            f"batch {batch}, got "
                            f"{getattr(t, 'dtype', type(t).__name__)} of shape "
                            f"{tuple(getattr(t, 'shape', ()))}")
        if t.device != q.device or not t.is_contiguous():
            raise ValueError(f"{name} must be contiguous and on {q.device}")
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False, got {causal!r}")
    dtype = "f16" if q.dtype == torch.float16 else "bf16"
    runtime, arch = _runtime_of(torch, q)
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    qv, ov = q.transpose(1, 2), out.transpose(1, 2)
    plain = score_mod is None and mask_mod is None and not bottom_right and \
        not return_lse and not captures and not causal
    group = heads // kv_heads
    if plain and group > 1 and seq_q == 1 and q.is_contiguous():
        # Decoding with grouped-query attention: a K/V head's query heads
        # are contiguous rows, one head of `group` rows for the kernel.
        qv = q.view(batch, kv_heads, group, head_dim)
        ov = out.view(batch, kv_heads, group, head_dim)
    for name, t in (("q", qv), ("k_cache", k_cache), ("v_cache", v_cache)):
        if not _readable_in_place(t):
            raise ValueError(f"{name} needs a unit stride on head_dim, the "
                             "other strides multiples of 8 and 16-byte "
                             f"alignment, got strides {tuple(t.stride())}"
                             " (call .contiguous())")
    if callable(score_mod) or callable(mask_mod):
        _check_coordinates(batch, heads, seq_q,
                           block_table.shape[1] * page_size)
    capture_types = [_capture_type(torch, c, i) for i, c in enumerate(captures)]
    text, traced = attention_mlir(head_dim, dtype, causal, scale, score_mod,
                                  mask_mod, bottom_right, return_lse,
                                  capture_types,
                                  seq_q=_short_queries(qv.shape[2]),
                                  paged=True)
    kernel, values = _traced_kernel(runtime, torch, q, text, traced, captures,
                                    arch)
    lse = torch.empty((batch, heads, seq_q), dtype=torch.float32,
                      device=q.device) if return_lse else None
    runtime.launch_paged(kernel, qv, k_cache.transpose(1, 2),
                         v_cache.transpose(1, 2), ov, block_table, seqlens_k,
                         lse, values)
    return (out, lse) if return_lse else out


def block_map(q, k, v, **kwargs):
    """The block map of flashc.attention(q, k, v, **kwargs) for a mask_mod
    that reads data (document ids): built once on the GPU, reusable by
    every call with the same arguments' shapes and mask data
    (`block_map=`), across layers too. Raises FlashcError if the kernel has
    no data-dependent mask."""
    return attention(q, k, v, _build_map=True, **kwargs)


def _capture_type(torch, value, index):
    """The MLIR type of an explicitly given capture (MLIR-text modifiers)."""
    if isinstance(value, torch.Tensor):
        element = mods._TORCH_ELEMENTS.get(str(value.dtype))
        if element is None:
            raise TypeError(f"captures[{index}] has dtype {value.dtype}; "
                            f"supported: {sorted(mods._TORCH_ELEMENTS)}")
        return f"memref<{'x'.join('?' * value.dim())}x{element}>"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"captures[{index}] must be a tensor, an int or a "
                        f"float, got {type(value).__name__}")
    return "i64" if isinstance(value, int) else "f32"

