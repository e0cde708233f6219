//===- CUDA.cpp - gm kernels to PTX ---------------------------------------===//
//
// gmc --target=cuda (docs/cuda.md): the kernels gm-outline-kernels made are
// written as gpu.funcs (gm-kernels-to-gpu), lowered to NVVM and compiled to
// PTX for each chip asked for, all before the host code goes on to LLVM. The
// PTX lands in the artifact as one NUL-terminated global per chip,
// `gm_cuda_ptx_<chip>`, beside `gm_cuda_kernels` (the kernel names).
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/CodeGen.h"

#include "dialects/GM/Conversion/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

using namespace mlir;

namespace gm {

std::string findLibdevice(llvm::StringRef toolkit, std::string &error) {
  std::vector<std::string> roots;
  if (!toolkit.empty()) {
    roots.push_back(toolkit.str());
  } else {
    for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
      if (const char *v = std::getenv(var); v && *v)
        roots.push_back(v);
    roots.push_back("/usr/local/cuda");
  }
  for (const std::string &root : roots) {
    std::string path = root + "/nvvm/libdevice/libdevice.10.bc";
    if (llvm::sys::fs::exists(path))
      return path;
  }
  error = "--target=cuda links CUDA's libdevice (exp, log, tanh on the GPU) and found none: "
          "no nvvm/libdevice/libdevice.10.bc under " + llvm::join(roots, ", ") +
          " (-cuda-path=DIR names the toolkit)";
  return "";
}

void buildCUDAPipeline(OpPassManager &pm, const LLVMPipelineOptions::CUDAOptions &options) {
  pm.addPass(mlir::gm::createGMKernelsToGPUPass());
  if (options.emulate) {
    pm.addPass(mlir::gm::createGMEmulateGPUPass());
    return;
  }
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  device.addPass(createConvertSCFToCFPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  // What it leaves of math (fma, round: no libdevice pattern in MLIR 19) as
  // LLVM intrinsics, which NVPTX selects.
  device.addPass(createConvertMathToLLVMPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  // (linkLibs is an ArrayRef: |link| outlives the passes' construction,
  // which copies it.)
  std::vector<std::string> link = {options.libdevice};
  for (const std::string &chip : options.chips) {
    GpuNVVMAttachTargetOptions target;
    target.chip = chip;
    target.linkLibs = link;
    target.optLevel = 3;
    // PTX 7.8 is what CUDA 11.8 reads and the oldest ISA with sm_90.
    target.features = "+ptx78";
    pm.addPass(createGpuNVVMAttachTarget(target));
  }
  GpuModuleToBinaryPassOptions binary;
  // The toolkit libdevice is in (nvvm/libdevice/ under it), so that MLIR
  // does not look for its own in $CUDA_HOME and the like.
  binary.toolkitPath = llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(options.libdevice))).str();
  binary.compilationTarget = "isa"; // PTX text: the driver compiles it for the GPU it has
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

FailureOr<std::vector<CUDAModule>> takeCUDAModules(ModuleOp module) {
  std::vector<CUDAModule> out;
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  for (gpu::BinaryOp binary : binaries) {
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      auto target = cast<NVVM::NVVMTargetAttr>(object.getTarget());
      // (The NVPTX back end's text ends in a NUL, which ptxas rejects.)
      out.push_back({target.getChip().str(),
                     object.getObject().getValue().rtrim('\0').str()});
    }
    binary.erase();
  }
  // A function the PTX declares and does not define would fail only when
  // the driver loads the module, on a GPU: say so now.
  for (const CUDAModule &m : out) {
    size_t at = m.ptx.find(".extern .func");
    if (at != std::string::npos) {
      size_t end = m.ptx.find_first_of("(\n;", at);
      return module.emitError() << "the " << m.chip << " PTX calls a function nothing defines: '"
                                << m.ptx.substr(at, end - at) << "'";
    }
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  return out;
}

} // namespace gm
