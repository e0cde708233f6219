//===- CodeGen.cpp - gm to native CPU code --------------------------------===//

#include "compiler/CodeGen/CodeGen.h"
#include "compiler/CodeGen/Passes.h"

#include "dialects/GM/Conversion/ConvToRuntime/ConvToRuntime.h"
#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/Transforms/Passes.h"
#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/isa.h"
#include "runtime/include/gmrt/manifest.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/Analysis/CFG.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <thread>

using namespace mlir;


namespace gm {

void registerCodeGenPasses() {
  registerPass([] { return createFuseElementwisePass(); });
  registerPass([] { return createApproximateMathPass(); });
  registerPass([] { return createPreciseRootsPass(); });
}

void registerCodeGenDialects(MLIRContext &context) {
  DialectRegistry registry;
  registry.insert<func::FuncDialect, arith::ArithDialect, math::MathDialect,
                  tensor::TensorDialect, linalg::LinalgDialect, scf::SCFDialect,
                  memref::MemRefDialect, bufferization::BufferizationDialect,
                  affine::AffineDialect, cf::ControlFlowDialect, LLVM::LLVMDialect,
                  vector::VectorDialect, omp::OpenMPDialect, gpu::GPUDialect,
                  NVVM::NVVMDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::gm::registerHostConv2DBufferization(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  // The CUDA kernels (CUDA.cpp): the gpu and NVVM dialects to LLVM IR, and
  // the NVVM target that compiles a gpu.module to PTX.
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerConvertFuncToLLVMInterface(registry);
  context.appendDialectRegistry(registry);
}

void buildLinalgPipeline(OpPassManager &pm, bool libraries) {
  // Entry points as functions with the artifact's calling convention (calls
  // inlined), and the manifest; then composite ops into the core, which has
  // lowering patterns, convolutions to the runtime's, and the core to linalg
  // on tensors. The key's unrealized casts fold away last.
  pm.addPass(mlir::gm::createGMToABIPass());
  pm.addPass(mlir::gm::createGMDecomposePass());
  if (libraries)
    pm.addPass(mlir::gm::createGMConvToRuntimePass());
  pm.addPass(mlir::gm::createConvertGMToLinalgPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Function by function from here where a pass allows it: MLIR runs a
  // nested pass on the functions in parallel (gmc -j), and each function's
  // result is the same whatever the order.
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
  // Chains of elementwise generics become one loop nest each.
  fn.addPass(createFuseElementwisePass());
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
}

void buildLLVMPipeline(OpPassManager &pm, const LLVMPipelineOptions &options) {
  bufferization::OneShotBufferizationOptions opts;
  opts.bufferizeFunctionBoundaries = true;
  opts.setFunctionBoundaryTypeConversion(bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(bufferization::createOneShotBufferizePass(opts));
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCSEPass());
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  if (options.checkNumerics)
    pm.addPass(mlir::gm::createGMCheckNumericsPass());
  if (options.blas)
    pm.addPass(mlir::gm::createGMMatmulToBlasPass());
  if (options.outlineKernels)
    pm.addPass(mlir::gm::createGMOutlineKernelsPass());
  if (options.outlineKernels && !options.cuda.chips.empty())
    buildCUDAPipeline(pm, options.cuda);
  if (options.parallelLoops) {
    mlir::gm::GMParallelLoopsPassOptions parallel;
    if (options.parallelMinWork > 0)
      parallel.minWork = options.parallelMinWork;
    pm.addPass(mlir::gm::createGMParallelLoopsPass(parallel));
  }
  // The per-function lowerings run on the functions in parallel; those
  // that declare runtime functions or change signatures on the module.
  OpPassManager &fn = pm.nest<func::FuncOp>();
  // An scf.forall gm-parallel-loops did not take (it was not run) runs its
  // iterations in order.
  fn.addPass(createForallToForLoopPass());
  fn.addPass(createConvertLinalgToLoopsPass());
  if (!options.exactMath)
    fn.addPass(createApproximateMathPass());
  fn.addPass(memref::createExpandStridedMetadataPass());
  fn.addPass(createLowerAffinePass());
  fn.addPass(createConvertSCFToCFPass());
  // Math with an LLVM intrinsic, then the rest as libm calls; then one
  // dialect conversion for everything else: convert-openmp-to-llvm's
  // patterns are memref's, arith's, cf's and func's too, and one walk of
  // the module instead of five took a fifth of the MLIR half's time
  // (InfoGAN: 0.35 s of 0.85).
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

namespace {

const llvm::Target *hostTarget(std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  return llvm::TargetRegistry::lookupTarget(llvm::sys::getDefaultTargetTriple(), error);
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(
    const CPUTarget &t, std::string &error,
    llvm::CodeGenOptLevel level = llvm::CodeGenOptLevel::Aggressive) {
  const llvm::Target *target = hostTarget(error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      llvm::sys::getDefaultTargetTriple(), t.cpu, t.features, options, llvm::Reloc::PIC_,
      std::nullopt, level));
}

} // namespace

bool resolveTarget(llvm::StringRef mcpu, llvm::StringRef mattr, CPUTarget &out,
                   std::string &error) {
  out = CPUTarget();
  out.requested = mcpu.str();
  out.cpu = mcpu.str();
  if (mcpu == "native") {
    out.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
    out.features = features.getString();
  }
  const llvm::Target *target = hostTarget(error);
  std::string triple = llvm::sys::getDefaultTargetTriple();
  if (!mattr.empty()) {
    std::unique_ptr<llvm::MCSubtargetInfo> all(target->createMCSubtargetInfo(triple, "", ""));
    llvm::SmallVector<llvm::StringRef> attrs;
    mattr.split(attrs, ',', -1, false);
    for (llvm::StringRef a : attrs) {
      llvm::StringRef name = a.drop_front(a.starts_with("+") || a.starts_with("-"));
      bool known = llvm::any_of(all->getAllProcessorFeatures(),
                                [&](const llvm::SubtargetFeatureKV &f) { return name == f.Key; });
      if (!(a.starts_with("+") || a.starts_with("-")) || !known) {
        error = "-mattr expects +NAME or -NAME with LLVM's feature names (llc-19 "
                "-mattr=help lists them), got '" + a.str() + "'";
        return false;
      }
      out.features += (out.features.empty() ? "" : ",") + a.str();
    }
  }
  if (!target)
    return false;
  // Validated on a bare subtarget first: LLVM only warns about an unknown
  // CPU when it builds a target machine for it.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!sti->isCPUStringValid(out.cpu)) {
    error = "unknown CPU '" + mcpu.str() +
            "' for -mcpu: use native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4 or an "
            "LLVM CPU name (llc-19 -mcpu=help lists them)";
    return false;
  }
  sti.reset(target->createMCSubtargetInfo(triple, out.cpu, out.features));
  // The extensions of gmrt/isa.h this CPU enables, as a mask for the level.
  uint64_t mask = 0;
  for (unsigned i = 0; i < GM_ISA_EXTENSION_COUNT; ++i)
    if (sti->checkFeatures(std::string("+") + gm_isa_extensions[i].name)) {
      out.isa.push_back(gm_isa_extensions[i].name);
      mask |= 1ull << i;
    }
  out.level = gm_isa_level(mask);
  return true;
}

LogicalResult addArtifactABI(ModuleOp module, const CPUTarget &target,
                             const std::vector<CUDAModule> &cuda) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  auto manifestText = module->getAttrOfType<StringAttr>("gm.manifest");
  if (!manifestText)
    return module.emitError() << "no gm.manifest: run gm-to-abi first";
  // Read back through the schema (which checks what gm-to-abi wrote, or
  // what a hand-edited .mlir holds) and add the target the code is for.
  gmrt::Manifest manifest;
  std::string error;
  if (!gmrt::fromJson(manifestText.getValue().str(), manifest, error, /*needTarget=*/false))
    return module.emitError() << "malformed gm.manifest: " << error;
  manifest.target = {target.cpu, target.isa, {}};
  for (const CUDAModule &m : cuda)
    manifest.target.cuda.push_back(m.chip);

  auto i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto global = [&](StringRef name, StringRef text) {
    std::string z = text.str();
    z.push_back('\0');
    b.create<LLVM::GlobalOp>(loc, LLVM::LLVMArrayType::get(i8, z.size()), /*isConstant=*/true,
                             LLVM::Linkage::External, name, b.getStringAttr(z));
  };
  global("gm_artifact_magic", GM_ARTIFACT_MAGIC);
  global("gm_manifest", gmrt::toJson(manifest));
  // gm-check-numerics' sites, one string each, NUL-separated (the host reads
  // them when a check fails).
  if (auto sites = module->getAttrOfType<ArrayAttr>("gm.check_sites")) {
    std::string all;
    for (Attribute site : sites)
      all += cast<StringAttr>(site).getValue().str() + '\0';
    global("gm_check_sites", all);
  }
  for (const CUDAModule &m : cuda)
    global("gm_cuda_ptx_" + m.chip, m.ptx);
  b.create<LLVM::GlobalOp>(loc, i32, true, LLVM::Linkage::External, "gm_abi_version",
                           b.getI32IntegerAttr(GM_ABI_VERSION));

  // void gm_entry_<n>(void **args): args[i] points at argument i's memref
  // descriptor; forwards to the C interface MLIR generated for the body.
  SmallVector<LLVM::LLVMFuncOp> impls;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
    if (fn.getName().starts_with("_mlir_ciface_gm_entry_"))
      impls.push_back(fn);
  for (LLVM::LLVMFuncOp impl : impls) {
    StringRef name = impl.getName().drop_front(strlen("_mlir_ciface_"));
    name.consume_back("_impl");
    auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr});
    b.setInsertionPointToEnd(module.getBody());
    auto entry = b.create<LLVM::LLVMFuncOp>(loc, name, type);
    Block *body = entry.addEntryBlock(b);
    b.setInsertionPointToStart(body);
    SmallVector<Value> args;
    for (unsigned i = 0; i < impl.getNumArguments(); ++i) {
      Value slot = b.create<LLVM::GEPOp>(loc, ptr, ptr, body->getArgument(0),
                                         ArrayRef<LLVM::GEPArg>{(int32_t)i});
      args.push_back(b.create<LLVM::LoadOp>(loc, ptr, slot));
    }
    b.create<LLVM::CallOp>(loc, impl, args);
    b.create<LLVM::ReturnOp>(loc, ValueRange{});
  }
  // Scratch memory comes from the host (gmrt_alloc/gmrt_free, abi.h), which
  // keeps freed blocks for the next step instead of returning them to the
  // system: MLIR's memref lowering calls malloc and free.
  for (auto [from, to] : {std::pair<StringRef, StringRef>{"malloc", "gmrt_alloc"},
                          std::pair<StringRef, StringRef>{"free", "gmrt_free"}})
    if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(from)) {
      if (failed(SymbolTable::replaceAllSymbolUses(fn, b.getStringAttr(to), module)))
        return module.emitError() << "cannot redirect " << from << " to " << to;
      fn.setSymName(to);
    }
  module->removeAttr("gm.manifest");
  return success();
}

namespace {

/// The OpenMP entry points an artifact may import, as gmrt_omp_<name>
/// (abi.h).
constexpr StringLiteral kHostOpenMP[] = {"global_thread_num", "fork_call_if",
                                         "for_static_init_8u", "for_static_fini"};

/// Whether |f| is one of gm-outline-kernels' functions.
bool isKernel(const llvm::Function &f) { return f.getName().starts_with("gm_kernel_"); }

/// Every fixed-size alloca of |f| to its entry block. MLIR's call lowering
/// stores each memref descriptor it passes by pointer (the C interface,
/// unranked casts) in an alloca at the call, and a call in a loop (an entry
/// point's loop over pixels) then took more stack at every iteration:
/// PixelRNN's sampler, hundreds of descriptors per pixel, overflowed 8 MB of
/// stack at pixel 721 of 784. In the entry block each is one slot, reused: a
/// descriptor is written in full before its call and not kept after it.
void hoistAllocas(llvm::Function &f) {
  llvm::Instruction *at = &*f.getEntryBlock().getFirstInsertionPt();
  for (llvm::BasicBlock &block : llvm::drop_begin(f))
    for (llvm::Instruction &i : llvm::make_early_inc_range(block))
      if (auto *alloca = dyn_cast<llvm::AllocaInst>(&i);
          alloca && isa<llvm::ConstantInt>(alloca->getArraySize()))
        alloca->moveBefore(at);
}

/// |module| as LLVM IR for |tm|'s target, its functions marked for full-width
/// vectors.
std::unique_ptr<llvm::Module> translate(ModuleOp module, llvm::TargetMachine &tm,
                                        llvm::LLVMContext &context, std::string &error) {
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  // gm-parallel-loops' loops call OpenMP's runtime (LLVM's OpenMPIRBuilder
  // emits libomp's __kmpc_* entry points); the host provides the few gm
  // uses under its own names (abi.h), so an artifact never binds to
  // whichever OpenMP library a process happens to have loaded.
  for (llvm::Function &f : *llvmModule) {
    StringRef name = f.getName();
    if (!f.isDeclaration() || !name.consume_front("__kmpc_"))
      continue;
    if (!llvm::is_contained(kHostOpenMP, name)) {
      error = ("generated code calls OpenMP's __kmpc_" + name +
               ", which the artifact ABI does not provide").str();
      return nullptr;
    }
    f.setName("gmrt_omp_" + name);
  }
  // gmc -cuda-emulate: each CUDA kernel's emulated grid, for the fake driver.
  exportEmulatedKernels(*llvmModule);
  deviceConstants(*llvmModule);
  llvmModule->setTargetTriple(tm.getTargetTriple().str());
  llvmModule->setDataLayout(tm.createDataLayout());
  // LLVM's x86 cost model keeps loops to 256-bit vectors on AVX-512 CPUs
  // unless told otherwise (for the frequency drop of early AVX-512 parts).
  // gm's generated loops are long streams of arithmetic that gain from the
  // full width: NADE trains 24% faster with it, the VAE is unchanged
  // (docs/codegen.md). Targets without 512-bit vectors ignore it.
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration()) {
      f.addFnAttr("prefer-vector-width", "512");
      hoistAllocas(f);
    }
  // gm-outline-kernels' functions: each is compiled once, in one part of
  // emitObjects' split, and called from the others (so not module-local, but
  // hidden from the artifact's exports), and never inlined back into its
  // callers, which would copy it again. A buffer a kernel writes is viewed
  // by no other of its arguments at any call (the pass's contract), so
  // their pointers are noalias (which says nothing of memory only read):
  // the vectoriser needs no overlap checks and no second copy of each loop.
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration() && isKernel(f)) {
      f.setLinkage(llvm::GlobalValue::ExternalLinkage);
      f.setVisibility(llvm::GlobalValue::HiddenVisibility);
      f.addFnAttr(llvm::Attribute::NoInline);
      for (llvm::Argument &a : f.args())
        if (a.getType()->isPointerTy())
          a.addAttr(llvm::Attribute::NoAlias);
    }
  return llvmModule;
}

/// How a module's functions are compiled: the generated loops (kernels, and
/// any loop left in an entry point) at full optimisation; the rest of an
/// entry point, a long straight line of allocations, descriptor stores and
/// calls, cheaply.
enum class Tier { Loops, Glue };

/// The glue's middle end: what folds the memref descriptors into registers
/// and their arithmetic into constants (SROA, CSE, instcombine), no more. O1
/// ran interprocedural passes besides (called-value propagation, IPSCCP,
/// the inliner) that cost more than they gave a straight line of calls:
/// InfoGAN's glue took 1.28 s in O1 and 0.54 s in code generation, 0.36 s
/// and 0.34 s so, for 17% more code (AMD EPYC Zen 3, one thread). Then
/// global DCE: every piece gets a copy of the small module-local constants
/// (emitObjects), and one its functions do not read is dead weight.
llvm::Error optimizeGlue(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager passes;
  if (llvm::Error e = pb.parsePassPipeline(
          passes, "function(sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg),globaldce"))
    return e;
  passes.run(m, mam);
  return llvm::Error::success();
}

/// The middle end (|tier|'s), then the object file (or the optimised IR as
/// text) to |os|.
LogicalResult optimizeAndEmit(llvm::Module &llvmModule, llvm::TargetMachine &tm, Tier tier,
                              llvm::raw_pwrite_stream &os, bool llvmIR, std::string &error) {
  // Loops at O2, not O3: O3 adds non-trivial loop unswitching and more
  // aggressive inlining, which copy gm's long loop bodies again. DCGAN
  // compiled in 9.7-12.3 s at O3 and 5.5-5.7 s at O2 (-j 1, AMD EPYC Zen 3),
  // and trained as fast (205-272 against 205-231 images/s, one thread, noisy
  // machine; NADE, all generated loops: 900-1063 against 1007-1122).
  if (llvm::Error e = tier == Tier::Loops
                          ? makeOptimizingTransformer(2, 0, &tm)(&llvmModule)
                          : optimizeGlue(llvmModule, tm)) {
    error = llvm::toString(std::move(e));
    return failure();
  }
  if (llvmIR) {
    llvmModule.print(os, nullptr);
    return success();
  }
  llvm::legacy::PassManager codegen;
  if (tm.addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the host target cannot emit object files";
    return failure();
  }
  codegen.run(llvmModule);
  return success();
}

/// The entry point a function belongs to: gm_entry_N calls
/// _mlir_ciface_gm_entry_N_impl, which calls gm_entry_N_impl; all three are
/// "gm_entry_N", and so are the parallel loop bodies OpenMP outlines from
/// the last (gm_entry_N_impl..omp_par.K). Any other function, a kernel
/// (gm_kernel_K, with its own parallel loop bodies) for one, is a group of
/// its own.
StringRef entryOf(StringRef name) {
  name = name.take_front(name.find(".."));
  name.consume_front("_mlir_ciface_");
  name.consume_back("_impl");
  return name;
}

/// A loop body OpenMP outlined from an entry: it goes where the entry goes.
bool outlined(const llvm::Function &f) {
  return f.hasLocalLinkage() && f.getName().contains("..");
}

/// Whether |f| has a loop that does work of its own: an innermost loop
/// that calls nothing (intrinsics aside), a linalg op left in an entry
/// point for one. A loop every innermost loop of which calls out is glue
/// that repeats: an entry point's loop over pixels (ancestral sampling),
/// rows or time steps around kernel and library calls. O2 and the full
/// instruction selector bought such a loop nothing measurable (NADE
/// samples as fast) and cost compile time (NADE and PixelCNN compile 16%
/// faster as glue, docs/codegen.md).
bool hasComputeLoop(llvm::Function &f) {
  SmallVector<std::pair<const llvm::BasicBlock *, const llvm::BasicBlock *>> backEdges;
  llvm::FindFunctionBackedges(f, backEdges);
  if (backEdges.empty())
    return false;
  llvm::DominatorTree dt(f);
  llvm::LoopInfo loops(dt);
  for (llvm::Loop *loop : loops.getLoopsInPreorder()) {
    if (!loop->isInnermost())
      continue;
    bool calls = llvm::any_of(loop->blocks(), [](llvm::BasicBlock *block) {
      return llvm::any_of(*block, [](llvm::Instruction &i) {
        return isa<llvm::CallBase>(i) && !isa<llvm::IntrinsicInst>(i);
      });
    });
    if (!calls)
      return true;
  }
  return false;
}

llvm::cl::opt<bool> printTiers("print-tiers", llvm::cl::Hidden,
                                llvm::cl::desc("print how each entry point and kernel is compiled "
                                               "(loops at O2, or glue) and in which -j part"));

/// How large a module-local constant must be to be defined in one piece
/// only (emitObjects), not copied into each.
constexpr uint64_t kSharedConstantBytes = 4096;

/// A group of functions (entryOf) compiled together, and how.
struct Group {
  uint64_t size = 0; // instructions
  Tier tier = Tier::Glue;
  unsigned part = 0;
};

/// |m|'s groups, each with its tier: Glue for an entry point none of whose
/// functions has a loop of its own work (gm-outline-kernels moved those
/// into kernels; hasComputeLoop), Loops for the rest. A module with mutable
/// module-local state (each piece would get its own copy) is one group,
/// all Loops.
llvm::StringMap<Group> groupsOf(llvm::Module &m) {
  llvm::StringMap<Group> groups;
  if (llvm::any_of(m.globals(), [](llvm::GlobalVariable &g) {
        return g.hasLocalLinkage() && !g.isConstant();
      }))
    return groups;
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && (!f.hasLocalLinkage() || outlined(f))) {
      Group &g = groups[entryOf(f.getName())];
      g.size += f.getInstructionCount() + 1;
      if (g.tier == Tier::Glue && (isKernel(f) || hasComputeLoop(f)))
        g.tier = Tier::Loops;
    }
  return groups;
}

/// Deals |groups| into at most |jobs| parts, largest first into the part
/// with the least work so far, so the parts take about equally long. Glue
/// counts a quarter of its instructions: its four passes and the fast
/// instruction selector take about a quarter as long per instruction as the
/// loops' O2 (InfoGAN: 0.7 s for 30k lines of glue, 3.8 s for 44k of
/// kernels, AMD EPYC Zen 3). Returns the number of parts.
unsigned partition(llvm::StringMap<Group> &groups, unsigned jobs) {
  std::vector<std::pair<uint64_t, llvm::StringMapEntry<Group> *>> order;
  for (auto &g : groups)
    order.push_back({g.second.tier == Tier::Glue ? g.second.size / 4 : g.second.size, &g});
  llvm::sort(order, [](auto &a, auto &b) {
    return a.first != b.first ? a.first > b.first : a.second->first() < b.second->first();
  });
  std::vector<uint64_t> load(std::clamp<size_t>(order.size(), 1, std::max(jobs, 1u)), 0);
  for (auto &[work, g] : order) {
    unsigned least = std::min_element(load.begin(), load.end()) - load.begin();
    g->second.part = least;
    load[least] += work;
  }
  return load.size();
}

} // namespace

LogicalResult emitObject(ModuleOp module, const CPUTarget &target, llvm::raw_pwrite_stream &os,
                         bool llvmIR, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(target, error);
  if (!tm)
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translate(module, *tm, llvmContext, error);
  if (!llvmModule)
    return failure();
  return optimizeAndEmit(*llvmModule, *tm, Tier::Loops, os, llvmIR, error);
}

LogicalResult emitObjects(ModuleOp module, const CPUTarget &target, unsigned jobs,
                          std::vector<std::string> &objects, std::string &error) {
  objects.clear();
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(target, error);
  if (!tm)
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> whole = translate(module, *tm, llvmContext, error);
  if (!whole)
    return failure();
  llvm::StringMap<Group> groups = groupsOf(*whole);
  // A large module-local constant (MADE's masks, 3.1 MB) is defined once,
  // in the first piece, hidden, and declared in the others, which would
  // each copy it: nothing folds a load from a table that size. Small
  // constants stay local to every piece that reads them.
  const llvm::DataLayout &layout = whole->getDataLayout();
  for (llvm::GlobalVariable &g : whole->globals())
    if (g.hasLocalLinkage() && g.isConstant() &&
        layout.getTypeAllocSize(g.getValueType()) >= kSharedConstantBytes) {
      g.setLinkage(llvm::GlobalValue::ExternalLinkage);
      g.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  unsigned parts = partition(groups, jobs);
  if (printTiers) {
    std::vector<std::string> lines;
    for (auto &g : groups)
      lines.push_back(llvm::formatv("gmc: {0} {1}, {2} instructions, part {3}\n", g.first(),
                                    g.second.tier == Tier::Glue ? "glue" : "loops",
                                    g.second.size, g.second.part));
    llvm::sort(lines);
    for (const std::string &line : lines)
      llvm::errs() << line;
  }
  // A piece is one part's groups of one tier: a copy of the module that
  // defines them and declares the rest. Small module-local constants and
  // helpers are copied into every piece; the ABI's globals and the large
  // constants made hidden above go to the first. An LLVM
  // context is single-threaded, so the pieces cross to their part's thread
  // as bitcode; each becomes one object.
  struct Piece {
    unsigned part;
    Tier tier;
    llvm::SmallVector<char, 0> bitcode;
  };
  std::vector<Piece> pieces;
  for (unsigned i = 0; i < parts; ++i)
    for (Tier tier : {Tier::Loops, Tier::Glue}) {
      bool any = groups.empty() ? tier == Tier::Loops && i == 0
                                : llvm::any_of(groups, [&](auto &g) {
                                    return g.second.part == i && g.second.tier == tier;
                                  });
      if (!any)
        continue;
      bool first = pieces.empty();
      llvm::ValueToValueMapTy map;
      std::unique_ptr<llvm::Module> piece =
          llvm::CloneModule(*whole, map, [&](const llvm::GlobalValue *g) {
            auto *f = dyn_cast<llvm::Function>(g);
            if (f && !groups.empty() && (!f->hasLocalLinkage() || outlined(*f))) {
              auto it = groups.find(entryOf(f->getName()));
              return it != groups.end() && it->second.part == i && it->second.tier == tier;
            }
            return g->hasLocalLinkage() || first;
          });
      pieces.push_back({i, tier, {}});
      llvm::raw_svector_ostream os(pieces.back().bitcode);
      llvm::WriteBitcodeToFile(*piece, os);
    }
  whole.reset();
  objects.assign(pieces.size(), std::string());
  std::vector<std::string> errors(parts);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < parts; ++i)
    threads.emplace_back([&, i] {
      for (size_t k = 0; k < pieces.size() && errors[i].empty(); ++k) {
        if (pieces[k].part != i)
          continue;
        llvm::LLVMContext context;
        llvm::MemoryBufferRef buffer(
            StringRef(pieces[k].bitcode.data(), pieces[k].bitcode.size()), "piece");
        llvm::Expected<std::unique_ptr<llvm::Module>> m = llvm::parseBitcodeFile(buffer, context);
        if (!m) {
          errors[i] = llvm::toString(m.takeError());
          return;
        }
        // Glue through the fast instruction selector and register
        // allocator: InfoGAN's entry points took 2.5 s at full codegen
        // optimisation and 0.7 s so.
        std::unique_ptr<llvm::TargetMachine> pieceTM = createTargetMachine(
            target, errors[i],
            pieces[k].tier == Tier::Loops ? llvm::CodeGenOptLevel::Aggressive
                                          : llvm::CodeGenOptLevel::None);
        if (!pieceTM)
          return;
        llvm::raw_string_ostream os(objects[k]);
        llvm::buffer_ostream out(os);
        (void)optimizeAndEmit(**m, *pieceTM, pieces[k].tier, out, false, errors[i]);
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (std::string &e : errors)
    if (!e.empty()) {
      error = e;
      return failure();
    }
  return success();
}

namespace {

/// The C and math libraries this process runs with, as files. An artifact
/// linked against nothing refers to memcpy, log and powf unversioned, and
/// the dynamic loader binds such a reference to the oldest version:
/// memcpy@GLIBC_2.2.5, a plain SSE2 copy, where memcpy@GLIBC_2.14 picks the
/// CPU's best (AVX-512 on a Zen 4); log and powf to 2.2.5's wrappers that
/// set errno, not the current versions with their FMA variants. Linked
/// against the libraries themselves, the artifact names the current
/// versions (so it needs a glibc that has them: 2.29 or later).
std::vector<std::string> systemLibraries() {
  std::vector<std::string> libraries;
  for (const char *symbol : {"memcpy", "log"}) {
    Dl_info info;
    void *address = dlsym(RTLD_DEFAULT, symbol);
    if (address && dladdr(address, &info) && info.dli_fname &&
        StringRef(info.dli_fname).contains(".so") &&
        !llvm::is_contained(libraries, info.dli_fname))
      libraries.push_back(info.dli_fname);
  }
  return libraries;
}

} // namespace

bool linkArtifact(const std::vector<std::string> &objectPaths, const std::string &outPath,
                  std::string &error) {
  std::string linker;
  for (const char *name : {"ld.lld", "ld.lld-19"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      linker = *p;
      break;
    }
  if (linker.empty()) {
    error = "no linker: gmc needs ld.lld (apt install lld-19) to write an artifact";
    return false;
  }
  std::string tmp = outPath + ".tmp";
  llvm::SmallVector<llvm::StringRef> args = {linker, "-shared", "--no-undefined-version",
                                             "-o", tmp};
  for (const std::string &object : objectPaths)
    args.push_back(object);
  std::vector<std::string> libraries = systemLibraries();
  args.push_back("--as-needed");
  for (const std::string &library : libraries)
    args.push_back(library);
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking '" + outPath + "' failed" + (message.empty() ? "" : ": " + message);
    llvm::sys::fs::remove(tmp);
    return false;
  }
  // The checksum trailer (abi.h), so a host can tell a damaged file.
  std::error_code ec;
  std::optional<uint32_t> crc;
  if (auto bytes = llvm::MemoryBuffer::getFile(tmp))
    crc = llvm::crc32(llvm::arrayRefFromStringRef((*bytes)->getBuffer()));
  else
    ec = bytes.getError();
  if (crc) {
    std::string trailer(GM_ARTIFACT_TRAILER, 8);
    for (int i = 0; i < 4; ++i)
      trailer.push_back((char)((*crc >> (8 * i)) & 0xff));
    trailer.append(4, '\0');
    llvm::raw_fd_ostream out(tmp, ec, llvm::sys::fs::OF_Append);
    if (!ec) {
      out << trailer;
      out.close();
      if (out.has_error())
        ec = out.error();
    }
  }
  if (!ec)
    ec = llvm::sys::fs::rename(tmp, outPath);
  if (ec) {
    llvm::sys::fs::remove(tmp);
    error = "cannot write '" + outPath + "': " + ec.message();
    return false;
  }
  return true;
}

} // namespace gm
