# -*- Python -*-
import os
import shutil
import sys
import subprocess

import lit.formats
from lit.llvm import llvm_config

config.name = "FLASHC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "compile.test.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.flashc_obj_root, "test")

llvm_config.with_system_environment(["HOME", "TMPDIR", "CUDA_VISIBLE_DEVICES"])
# A tune cache in the user's home must not change what the tests compile:
# the default cache is a file that does not exist (tests name theirs).
config.environment["FLASHC_TUNE_CACHE"] = "/nonexistent/flashc-tests-tune.txt"
llvm_config.use_default_substitutions()

config.substitutions.append(("%examples", os.path.join(config.flashc_src_root, "examples")))
config.substitutions.append(("%flashc_src", config.flashc_src_root))
config.substitutions.append(("%flashc_obj", config.flashc_obj_root))
config.substitutions.append(("%python", sys.executable))

tool_dirs = [config.flashc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["flashc", "flashc-opt", "flashc-check-cpu", "flashc-run", "not", "count", "FileCheck"], tool_dirs)

# A sanitizer build: tests that load our libraries into an uninstrumented
# process (python) or link them into another project do not apply.
if config.flashc_sanitize.upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("asan")
    # Debian's libMLIR.so is not instrumented, but LLVM's BumpPtrAllocator
    # inlined into our instrumented code poisons memory that libMLIR's copy
    # of it never unpoisons: ignore manual poisoning (real heap errors are
    # still caught), keep leak detection.
    config.environment["ASAN_OPTIONS"] = "detect_leaks=1:allow_user_poisoning=0"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"

# ptxas: on PATH or in the CUDA toolkit. Tests that run it need the feature.
ptxas = shutil.which("ptxas") or shutil.which(
    "ptxas", path=os.path.join(config.flashc_cuda_path, "bin"))
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# A CUDA device: only where nvidia-smi lists one. GPU tests need the feature.
nvidia_smi = shutil.which("nvidia-smi")
if nvidia_smi:
    try:
        out = subprocess.run([nvidia_smi, "-L"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and "GPU" in out.stdout:
            config.available_features.add("cuda-device")
    except Exception:
        pass
