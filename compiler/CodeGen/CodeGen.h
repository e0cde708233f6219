//===- CodeGen.h - gm to native CPU code ------------------------*- C++ -*-===//
//
// The back half of gmc: gm entry points -> linalg on tensors -> buffers ->
// LLVM dialect -> LLVM IR (O2, host CPU) -> object -> shared library, the
// artifact gmrun loads. docs/codegen.md describes the stages and the ABI.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_CODEGEN_CODEGEN_H
#define GM_COMPILER_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace gm {

/// The CPU an artifact is compiled for (`gmc -mcpu`). Generated loops are
/// vectorised for it, so the same model compiled for two CPUs rounds f32
/// differently; the manifest records it and gmrun refuses an artifact whose
/// extensions the CPU it runs on lacks.
struct CPUTarget {
  std::string requested; // as given: native, x86-64-v3, znver4, ...
  std::string cpu;       // LLVM's CPU name; native is resolved to the host's
  std::string features;  // LLVM feature string (the host's, for native)
  /// The extensions of runtime/include/gmrt/isa.h the code may use, in that
  /// table's order, and their x86-64 level (1-4).
  std::vector<std::string> isa;
  int level = 1;
};

/// Resolves a -mcpu value: `native` (the host's CPU and features), an x86-64
/// level (`x86-64`, `x86-64-v2`, `-v3`, `-v4`) or any CPU LLVM knows
/// (`znver4`, `skylake-avx512`), with the extensions of |mattr| (`+avx2,-fma`)
/// added or removed. Returns false with |error| set.
bool resolveTarget(llvm::StringRef mcpu, llvm::StringRef mattr, CPUTarget &out,
                   std::string &error);

/// Registers the dialects and translations code generation needs.
void registerCodeGenDialects(mlir::MLIRContext &context);
/// Registers the code generation passes of Passes.h (gm-fuse-elementwise,
/// gm-approximate-math) for gm-opt.
void registerCodeGenPasses();

/// gm (after the training pipeline) -> linalg on tensors: gm-to-abi,
/// gm-decompose, gm-conv-to-runtime (unless |libraries| is false: im2col
/// products instead, for measurements), convert-gm-to-linalg, then
/// canonicalisation, CSE and elementwise fusion.
void buildLinalgPipeline(mlir::OpPassManager &pm, bool libraries = true);

/// How buildLLVMPipeline lowers; the defaults are gmc's.
struct LLVMPipelineOptions {
  /// Matrix products as the runtime's SGEMM; false keeps linalg's loops
  /// (gmc -matmul=loops, for measurements).
  bool blas = true;
  /// gm-check-numerics (gmc -check-numerics).
  bool checkNumerics = false;
  /// libm for exp, log, tanh, ... instead of the vectorisable polynomials
  /// (gmc -math=exact).
  bool exactMath = false;
  /// Each distinct generated loop nest as one function its copies call
  /// (gm-outline-kernels; gmc -outline-kernels=false inlines every copy).
  bool outlineKernels = true;
  /// Large generated loops on every thread the host gives
  /// (gm-parallel-loops; gmc -parallel-loops=false keeps them serial).
  bool parallelLoops = true;
  /// gm-parallel-loops' min-work (gmc -parallel-min-work); 0: its default.
  int64_t parallelMinWork = 0;
  /// The kernels also for NVIDIA GPUs (gmc --target=cuda; needs
  /// outlineKernels): buildCUDAPipeline after gm-outline-kernels. No chips:
  /// the CPU alone.
  struct CUDAOptions {
    std::vector<std::string> chips; // sm_80, sm_90
    std::string libdevice;          // CUDA's libdevice.10.bc (findLibdevice)
    /// Run the CUDA kernels on the CPU, thread by thread, instead of the
    /// host kernels, and export each kernel's emulated grid as
    /// `gm_emu_<kernel>(void **params, int64_t grid, int64_t block)` for the
    /// suite's fake driver (gm-emulate-gpu; gmc -cuda-emulate): the suite
    /// checks the kernels' thread mapping and the executor this way.
    bool emulate = false;
  } cuda;
};

/// linalg on tensors -> LLVM dialect: bufferization, BLAS calls for matrix
/// products, kernels, threads, loops, and the conversions to LLVM.
void buildLLVMPipeline(mlir::OpPassManager &pm, const LLVMPipelineOptions &options = {});

/// The kernels as CUDA kernels, compiled to PTX for each of |chips|
/// (CUDA.cpp): gm-kernels-to-gpu, then the gpu.module @gm_kernels through
/// NVVM to a gpu.binary with one PTX object per chip.
void buildCUDAPipeline(mlir::OpPassManager &pm, const LLVMPipelineOptions::CUDAOptions &options);

/// The CUDA toolkit's libdevice: under |toolkit| if given, else the first of
/// $CUDA_HOME, $CUDA_PATH, $CUDA_ROOT and /usr/local/cuda that has it.
/// Empty, with |error| saying where it looked, if none.
std::string findLibdevice(llvm::StringRef toolkit, std::string &error);

/// For each emulated CUDA kernel (gm-emulate-gpu's `K_thread` functions)
/// in |m|, the exported `void gm_emu_K(void **params, int64_t grid,
/// int64_t block)`: every thread of the grid in turn, its arguments read
/// from cuLaunchKernel's parameter array, as the fake driver calls it.
void exportEmulatedKernels(llvm::Module &m);

/// In a --target=cuda module (one that calls gmrt_cuda_launch): every use
/// of a constant tensor (MLIR's `__constant_*` globals, such as MADE's
/// masks) reads the host's device copy instead,
/// `gmrt_cuda_constant(&global, bytes)`, asked for once on entry to each
/// function that uses it (abi.h): a kernel on the GPU cannot read the
/// artifact's data.
void deviceConstants(llvm::Module &m);

/// The PTX of one chip.
struct CUDAModule {
  std::string chip; // sm_90
  std::string ptx;
};

/// Takes the PTX out of |module|'s gpu.binary ops (erased), in chip order.
/// Fails, with an error on |module|, where the PTX declares a function it
/// does not define (the driver would refuse it, on a GPU only).
mlir::FailureOr<std::vector<CUDAModule>> takeCUDAModules(mlir::ModuleOp module);

/// On a module in the LLVM dialect: the ABI globals (magic, version,
/// manifest) and one `void gm_entry_<n>(void **args)` per entry point.
/// The manifest (the module's `gm.manifest`, gmrt/manifest.h) gets
/// |target|'s CPU and extensions as its "target"; a malformed one is an
/// error on the module.
/// The PTX of |cuda| goes in as `gm_cuda_ptx_<chip>` (NUL-terminated).
mlir::LogicalResult addArtifactABI(mlir::ModuleOp module, const CPUTarget &target,
                                   const std::vector<CUDAModule> &cuda = {});

/// Translates |module| (LLVM dialect, with the ABI) to LLVM IR, optimises it
/// at O2 for |target| and writes an object file (position-independent) to
/// |os|; with |llvmIR| set, writes the optimised LLVM IR as text instead.
mlir::LogicalResult emitObject(mlir::ModuleOp module, const CPUTarget &target,
                               llvm::raw_pwrite_stream &os, bool llvmIR, std::string &error);

/// As emitObject, on up to |jobs| threads: the entry points are dealt into
/// parts of about equal size (an entry's wrapper, C interface and body stay
/// together), each part is optimised and compiled in its own LLVM context,
/// and |objects| receives one object file per part, for linkArtifact. The
/// code is the same as emitObject's except that nothing is inlined across
/// entries (nothing is called across them either).
mlir::LogicalResult emitObjects(mlir::ModuleOp module, const CPUTarget &target, unsigned jobs,
                                std::vector<std::string> &objects, std::string &error);

/// Links the object files |objectPaths| into the shared library |outPath|
/// (written to a temporary and renamed). Returns false with |error| set.
bool linkArtifact(const std::vector<std::string> &objectPaths, const std::string &outPath,
                  std::string &error);

} // namespace gm

#endif // GM_COMPILER_CODEGEN_CODEGEN_H
