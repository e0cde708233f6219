# lit configuration of the gm suite: .mlir tests run gm-opt, .gm tests run
# gmc, .test files run whatever their RUN lines say.
import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

# One configuration for every suite: test/ and each test/ folder beside the
# code (its site file says which).
config.name = "gm" if config.gm_suite_src.endswith("/test") and \
    os.path.dirname(config.gm_suite_src) == config.gm_src_root else \
    "gm-" + os.path.relpath(os.path.dirname(config.gm_suite_src), config.gm_src_root)
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".gm", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = config.gm_suite_src
config.test_exec_root = config.gm_suite_obj

config.substitutions.append(("%models", os.path.join(config.gm_src_root, "models")))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%fashion", "/usr/share/datasets/fashion-mnist"))
# A CUDA driver without a GPU (runtime/tests/fake-cuda.c), for GMRT_CUDA_DRIVER;
# it is a fake cuBLAS and cuDNN too. `%fake_gpu_libs CMD` runs CMD on the fake
# device with all three, `%fake_gpu CMD` with the driver alone (products and
# convolutions on the CPU): never the machine's own cuBLAS or cuDNN, which
# the toolkit may have put on the loader's path.
fake_cuda = os.path.join(config.gm_obj_root, "lib", "libgm-fake-cuda.so")
no_library = os.path.join(config.gm_obj_root, "lib", "no-such-library.so")
config.substitutions.append(("%fake_gpu_libs", "env GMRT_CUDA_DRIVER=%s GMRT_CUBLAS=%s GMRT_CUDNN=%s"
                             % (fake_cuda, fake_cuda, fake_cuda)))
config.substitutions.append(("%fake_gpu", "env GMRT_CUDA_DRIVER=%s GMRT_CUBLAS=%s GMRT_CUDNN=%s"
                             % (fake_cuda, no_library, no_library)))
config.substitutions.append(("%fake_cuda", fake_cuda))
# A shared library that is not a gm artifact (zlib: gm links it anyway).
config.substitutions.append(("%gmrun_libz", "/usr/lib/x86_64-linux-gnu/libz.so.1"))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
# A missing tool is a setup error, not a test failure: stop at once, saying so.
llvm_config.add_tool_substitutions(
    [ToolSubst(tool, unresolved="fatal") for tool in ("gmc", "gm-opt", "gm-eval", "gm-eval-f32", "gmrt-test", "gmrt-conv-test", "gmrun")],
    [config.gm_tools_dir])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# Helper scripts (Inputs/*.py) run gm's tools by name.
llvm_config.with_environment("PATH", config.gm_tools_dir, append_path=True)

# The CPUs whose code this machine can execute, for conformance at every
# level (test/CodeGen): native, and each x86-64 level up to gmrun's reading
# of this CPU. Code for another CPU rounds f32 differently (vector widths,
# FMA contraction); these let one machine check what others would run.
import subprocess
level = 1
try:
    out = subprocess.run([os.path.join(config.gm_tools_dir, "gmrun"), "system"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("isa: x86-64-v"):
            level = int(line[len("isa: x86-64-v")])
except (OSError, ValueError):
    pass
cpus = ["native"] + ["x86-64-v%d" % v for v in range(2, level + 1)]
config.substitutions.append(("%cpus", ",".join(cpus)))
lit_config.note("conformance targets (%%cpus): %s" % ", ".join(cpus))

# A gmc built with sanitizers (scripts/test.sh passes --param asan_gmc=...):
# enables the tests marked REQUIRES: asan.
# The libFuzzer targets beside it (build-asan/bin): the tests marked
# REQUIRES: fuzz.
fuzz_bin = lit_config.params.get("fuzz_bin")
if fuzz_bin and os.path.exists(os.path.join(fuzz_bin, "gm-fuzz-gm")):
    config.available_features.add("fuzz")
    config.substitutions.append(("%fuzz_bin", fuzz_bin))
asan_gmc = lit_config.params.get("asan_gmc")
if asan_gmc and os.path.exists(asan_gmc):
    config.available_features.add("asan")
    config.substitutions.append(("%asan_gmc", asan_gmc))
# And a sanitized gmrun (--param asan_gmrun=...): REQUIRES: asan-gmrun.
asan_gmrun = lit_config.params.get("asan_gmrun")
if asan_gmrun and os.path.exists(asan_gmrun):
    config.available_features.add("asan-gmrun")
    config.substitutions.append(("%asan_gmrun", asan_gmrun))

# The CUDA toolkit (docs/cuda.md): it comes with some machine images, not
# from Debian. gmc --target=cuda needs its libdevice (REQUIRES: cuda-toolkit);
# its ptxas checks the PTX (REQUIRES: ptxas, %ptxas). Tests run without
# $CUDA_HOME, so gmc finds the toolkit where these look.
cuda_root = "/usr/local/cuda"
if os.path.exists(os.path.join(cuda_root, "nvvm/libdevice/libdevice.10.bc")):
    config.available_features.add("cuda-toolkit")
if os.access(os.path.join(cuda_root, "bin/ptxas"), os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", os.path.join(cuda_root, "bin/ptxas")))
lit_config.note("CUDA toolkit at %s: %s" % (cuda_root, "yes" if "cuda-toolkit" in config.available_features else "no (CUDA tests unsupported)"))
