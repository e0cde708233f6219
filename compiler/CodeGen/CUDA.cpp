//===- CUDA.cpp - gm kernels to PTX ---------------------------------------===//
//
// gmc --target=cuda (docs/cuda.md): the kernels gm-outline-kernels made are
// written as gpu.funcs (gm-kernels-to-gpu), lowered to NVVM and compiled to
// PTX for each chip asked for, all before the host code goes on to LLVM. The
// PTX lands in the artifact as one NUL-terminated global per chip,
// `gm_cuda_ptx_<chip>`. The host kernels call the host's gmrt_cuda_launch
// first (gm-host-launch), so `gmrun --device cuda` launches the PTX's
// kernels from the same entries.
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/CodeGen.h"
#include "compiler/CodeGen/Passes.h"

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
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"
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
  pm.addPass(mlir::gm::createGMHostLaunchPass());
  if (options.emulate) {
    // The CPU path runs the CUDA kernels thread by thread; the PTX is still
    // built, and each kernel's emulated grid exported (gm_emu_<kernel>,
    // exportEmulatedKernels) for the suite's fake driver to run on launch.
    mlir::gm::GMEmulateGPUPassOptions emulate;
    emulate.keepGPUModule = true;
    pm.addPass(mlir::gm::createGMEmulateGPUPass(emulate));
  }
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  device.addPass(createConvertSCFToCFPass());
  device.addPass(createPreciseRootsPass());
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

void exportEmulatedKernels(llvm::Module &m) {
  llvm::LLVMContext &context = m.getContext();
  llvm::Type *i64 = llvm::Type::getInt64Ty(context);
  llvm::Type *ptr = llvm::PointerType::getUnqual(context);
  std::vector<llvm::Function *> threads;
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && f.getName().starts_with("gm_kernel_") &&
        f.getName().ends_with("_thread"))
      threads.push_back(&f);
  for (llvm::Function *thread : threads) {
    // gm-emulate-gpu's K_thread(<K's parameters>, block, blockDim, thread,
    // gridDim): its leading arguments are the CUDA kernel's parameters, in
    // cuLaunchKernel's order.
    unsigned params = thread->arg_size() - 4;
    std::string name = "gm_emu_" + thread->getName().drop_back(strlen("_thread")).str();
    auto *emu = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(context),
                                                               {ptr, i64, i64}, false),
                                       llvm::GlobalValue::ExternalLinkage, name, m);
    llvm::Value *array = emu->getArg(0), *grid = emu->getArg(1), *block = emu->getArg(2);
    auto *entry = llvm::BasicBlock::Create(context, "entry", emu);
    auto *blocks = llvm::BasicBlock::Create(context, "blocks", emu);
    auto *lanes = llvm::BasicBlock::Create(context, "threads", emu);
    auto *nextBlock = llvm::BasicBlock::Create(context, "next_block", emu);
    auto *done = llvm::BasicBlock::Create(context, "done", emu);
    llvm::IRBuilder<> b(entry);
    // Each parameter's value, read where params[i] points; and what each
    // is (p a pointer, i an integer, f a float), gm_emu_K_kinds, for the
    // fake driver to check that every pointer is device memory.
    std::vector<llvm::Value *> args;
    std::string kinds;
    for (unsigned i = 0; i < params; ++i) {
      llvm::Type *type = thread->getArg(i)->getType();
      llvm::Value *at = b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, array, i));
      args.push_back(b.CreateLoad(type, at));
      kinds += type->isPointerTy() ? 'p' : type->isFloatingPointTy() ? 'f' : 'i';
    }
    llvm::Constant *text = llvm::ConstantDataArray::getString(context, kinds);
    new llvm::GlobalVariable(m, text->getType(), /*isConstant=*/true,
                             llvm::GlobalValue::ExternalLinkage, text, name + "_kinds");
    llvm::Value *zero = b.getInt64(0);
    b.CreateCondBr(b.CreateICmpSGT(grid, zero), blocks, done);
    b.SetInsertPoint(blocks);
    llvm::PHINode *bid = b.CreatePHI(i64, 2);
    bid->addIncoming(zero, entry);
    b.CreateCondBr(b.CreateICmpSGT(block, zero), lanes, done);
    b.SetInsertPoint(lanes);
    llvm::PHINode *tid = b.CreatePHI(i64, 2);
    tid->addIncoming(zero, blocks);
    std::vector<llvm::Value *> call = args;
    call.insert(call.end(), {bid, block, tid, grid});
    b.CreateCall(thread, call);
    llvm::Value *tnext = b.CreateAdd(tid, b.getInt64(1));
    tid->addIncoming(tnext, lanes);
    b.CreateCondBr(b.CreateICmpSLT(tnext, block), lanes, nextBlock);
    b.SetInsertPoint(nextBlock);
    llvm::Value *bnext = b.CreateAdd(bid, b.getInt64(1));
    bid->addIncoming(bnext, nextBlock);
    b.CreateCondBr(b.CreateICmpSLT(bnext, grid), blocks, done);
    b.SetInsertPoint(done);
    b.CreateRetVoid();
  }
}

void deviceConstants(llvm::Module &m) {
  llvm::Function *launch = m.getFunction("gmrt_cuda_launch");
  if (!launch)
    return; // not a --target=cuda artifact
  llvm::LLVMContext &context = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(context);
  llvm::FunctionCallee constant = m.getOrInsertFunction(
      "gmrt_cuda_constant", llvm::FunctionType::get(ptr, {ptr, llvm::Type::getInt64Ty(context)},
                                                    false));
  const llvm::DataLayout &layout = m.getDataLayout();
  for (llvm::GlobalVariable &g : m.globals()) {
    // The tensors MLIR keeps as memref.globals: masks, constant weights.
    if (!g.isConstant() || !g.hasInitializer() || !g.getName().starts_with("__constant_"))
      continue;
    llvm::convertUsersOfConstantsToInstructions({&g});
    // Each function that uses it asks for the device's copy once, on entry.
    llvm::DenseMap<llvm::Function *, llvm::Value *> copies;
    for (llvm::Use &use : llvm::make_early_inc_range(g.uses())) {
      auto *user = llvm::dyn_cast<llvm::Instruction>(use.getUser());
      if (!user)
        continue;
      llvm::Function *f = user->getFunction();
      llvm::Value *&copy = copies[f];
      if (!copy) {
        llvm::IRBuilder<> b(&*f->getEntryBlock().getFirstInsertionPt());
        copy = b.CreateCall(constant,
                            {&g, b.getInt64(layout.getTypeAllocSize(g.getValueType()))});
      }
      use.set(copy);
    }
  }
}

} // namespace gm
