//===- gmc.cpp - the gm compiler driver -----------------------------------===//
//
// gmc FILE.gm [-o ARTIFACT] [-mcpu=CPU]  compile to an artifact (default NAME.gmx)
// gmc FILE.gm -emit=<stage> [-o OUT]
// gmc check-grad FILE.gm [--batch=N] [--seed=S] [--coords=K] [--tolerance=T]
// gmc --print-target [-mcpu=CPU]         the CPU and ISA extensions code is built for
//
// Stages are ordered (ast < gm < ... < obj < artifact); `emitAction >= X` decides how
// far to go. check-grad compares every derived gradient with central finite
// differences through the reference evaluator. Every error goes to stderr as
// `file:line:col: error: message` with the source line and a caret, and gmc
// exits with status 1; a crash (a bug) prints a stack trace and a different
// status.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/AST.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/Eval/Evaluator.h"
#include "compiler/MLIRGen/MLIRGen.h"
#include "compiler/CodeGen/CodeGen.h"
#include "compiler/Pipelines/Pipelines.h"
#include "runtime/include/gmrt/rng.h"
#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

namespace cl = llvm::cl;

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .gm file>"));
static cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                           cl::value_desc("filename"),
                                           cl::init("-"));

namespace {
/// How far to compile; ordered, so `emitAction >= DumpGM` means "at least gm".
enum Action {
  DumpAST, DumpGM, DumpLoss, DumpGrad, DumpTrain, DumpLinalg, DumpLLVM, DumpPTX, DumpLLVMIR,
  EmitObject, EmitArtifact
};
} // namespace

static cl::opt<Action> emitAction(
    "emit", cl::desc("The stage to stop at and print"), cl::init(EmitArtifact),
    cl::values(clEnumValN(DumpAST, "ast", "the syntax tree"),
               clEnumValN(DumpGM, "gm", "the gm dialect IR, verified"),
               clEnumValN(DumpLoss, "loss",
                          "plus one expanded loss per training step and player"),
               clEnumValN(DumpGrad, "grad", "plus the gradient of every loss"),
               clEnumValN(DumpTrain, "train",
                          "plus an optimizer step per parameter group"),
               clEnumValN(DumpLinalg, "linalg",
                          "entry points in linalg/tensor/arith/math, fused"),
               clEnumValN(DumpLLVM, "llvm", "the LLVM dialect, with the artifact ABI"),
               clEnumValN(DumpLLVMIR, "llvm-ir", "LLVM IR after O2 for the host CPU"),
               clEnumValN(DumpPTX, "ptx", "the kernels' PTX, each -cuda-arch in turn (--target=cuda)"),
               clEnumValN(EmitObject, "obj", "an object file"),
               clEnumValN(EmitArtifact, "artifact",
                          "the artifact gmrun loads (the default)")));

static cl::opt<std::string> matmul(
    "matmul", cl::init("blas"),
    cl::desc("matrix products: 'blas' (the runtime's SGEMM) or 'loops' (linalg's naive "
             "loops, for comparison)"));

static cl::opt<std::string> conv(
    "conv", cl::init("library"),
    cl::desc("convolutions: 'library' (the runtime's, oneDNN in gmrun) or 'im2col' (an "
             "im2col matrix and a product, for comparison); -matmul=loops implies im2col"));

static cl::opt<std::string> math(
    "math", cl::init("approximate"),
    cl::desc("exp, log, tanh and the like: 'approximate' (polynomials in f32 that vectorise "
             "with the loops around them, the default) or 'exact' (libm calls)"));

// On by default: the checks cost nothing while gmrun leaves them off (one
// call that returns at once per computed buffer; no measurable change in
// VAE or DCGAN training speed), and they let gmrun re-run a diverging step
// with checks on and name the op. They add about 5-9% to compile time and
// 10-17% to the artifact (docs/codegen.md, "Located numeric failures").
static cl::opt<bool> checkNumerics(
    "check-numerics", cl::init(true),
    cl::desc("compile a NaN/Inf check after every computed tensor (default on), which "
             "gmrun turns on with `train --check-numerics`, or by itself to re-run a "
             "step whose loss became NaN or Inf, to name the first op (its .gm location) "
             "that produced one; -check-numerics=false leaves them out"));

static cl::opt<bool> outlineKernels(
    "outline-kernels", cl::init(true),
    cl::desc("compile each distinct generated loop nest once, as a function every copy "
             "of it calls (default on); -outline-kernels=false inlines every copy, as "
             "gmc did before, for comparison"));

static cl::opt<bool> parallelLoops(
    "parallel-loops", cl::init(true),
    cl::desc("run each large generated loop (elementwise chains, reductions, sampling, "
             "optimizer updates) on every thread gmrun is given (default on; the results "
             "are the same for any number of threads)"));

static cl::opt<int64_t> parallelMinWork(
    "parallel-min-work", cl::init(0), cl::Hidden,
    cl::desc("the least work (elements times payload cost) a generated loop runs "
             "in parallel (gm-parallel-loops' min-work; 0: the pass's default)"));

static cl::opt<std::string> targetList(
    "target",
    cl::desc("What the kernels run on: cpu (the default), or cuda or cpu,cuda, which also "
             "compile them to PTX for -cuda-arch into the artifact (docs/cuda.md)"),
    cl::init("cpu"));
static cl::list<std::string> cudaArch(
    "cuda-arch", cl::CommaSeparated,
    cl::desc("NVIDIA chips the PTX is for, comma-separated (default sm_80,sm_90)"));
static cl::opt<bool> cudaEmulate(
    "cuda-emulate",
    cl::desc("With --target=cuda: run the CUDA kernels on the CPU, thread by thread, in "
             "place of the CPU kernels, and export them for a fake CUDA driver (to test the "
             "kernels and the executor without a GPU)"),
    cl::init(false));
static cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("The CUDA toolkit whose libdevice --target=cuda links (default: $CUDA_HOME, "
             "$CUDA_PATH, $CUDA_ROOT or /usr/local/cuda)"));
static cl::opt<std::string> mcpu(
    "mcpu", cl::init("native"), cl::value_desc("cpu"),
    cl::desc("the CPU generated code is built for: native (this machine), a portable "
             "level (x86-64, x86-64-v2, x86-64-v3, x86-64-v4) or an LLVM CPU name"));
static cl::opt<std::string> mattr(
    "mattr", cl::init(""), cl::value_desc("+a1,-a2,..."),
    cl::desc("ISA extensions to add to or remove from -mcpu's (LLVM's names)"));
static cl::opt<unsigned> jobs(
    "j", cl::init(0), cl::value_desc("N"),
    cl::desc("compile on N threads: MLIR's per-function passes, and LLVM on the entry "
             "points and kernels (default: one per core this process may run on); the code "
             "is the same for any N"));
static cl::opt<bool> printTarget(
    "print-target", cl::desc("print the CPU and ISA extensions -mcpu selects, and exit"));

static cl::OptionCategory checkGradCategory("check-grad options");
static cl::opt<int64_t> batch("batch", cl::init(2), cl::cat(checkGradCategory),
                              cl::desc("batch size of the check"));
static cl::opt<uint64_t> seed("seed", cl::init(1), cl::cat(checkGradCategory),
                              cl::desc("seed of parameters, data, key, coordinates"));
static cl::opt<int64_t> coords("coords", cl::init(4), cl::cat(checkGradCategory),
                               cl::desc("coordinates checked per parameter tensor"));
static cl::opt<double> tolerance("tolerance", cl::init(1e-4), cl::cat(checkGradCategory),
                                 cl::desc("largest relative error accepted"));

/// Central finite differences through the evaluator against every gradient
/// function of |model|. Prints one line per parameter; returns the exit code.
static int checkGradients(mlir::gm::ModelOp model) {
  ::gm::Evaluator eval(model);
  eval.initParams(seed);
  bool ok = true, any = false;
  double worst = 0;
  for (auto grad : model.getBlock().getOps<mlir::gm::FuncOp>()) {
    if (grad.getRole() != mlir::gm::FuncRole::gradient)
      continue;
    any = true;
    mlir::ArrayAttr params = *grad.getParams();
    std::string lossName = grad.getLossAttr().getValue().str();
    std::vector<::gm::RtValue> args, results;
    std::string error;
    if (!::gm::makeArguments(grad, model, batch, seed, std::nullopt, args, error) ||
        !eval.call(grad.getSymName(), args, results, error)) {
      llvm::errs() << "gmc: error: " << grad.getSymName() << ": " << error << "\n";
      return 1;
    }
    llvm::outs() << "@" << grad.getSymName() << ": loss "
                 << llvm::format("%.10g", (double)results[0].tensor.data[0]) << "\n";
    using Real = ::gm::Real;
    auto lossAt = [&](Real &slot, Real value, Real &out) {
      Real saved = slot;
      slot = value;
      std::vector<::gm::RtValue> r;
      bool good = eval.call(lossName, args, r, error);
      slot = saved;
      out = good ? r[0].tensor.data[0] : 0;
      return good;
    };
    for (auto [j, ref] : llvm::enumerate(params)) {
      llvm::StringRef name = llvm::cast<mlir::FlatSymbolRefAttr>(ref).getValue();
      ::gm::Tensor &p = *eval.param(name);
      const ::gm::Tensor &g = results[j + 1].tensor;
      double maxErr = 0;
      int64_t n = std::min<int64_t>(coords, p.numel());
      for (int64_t c = 0; c < n; ++c) {
        // Coordinate c: spread over the tensor, reproducible from the seed.
        int64_t i = n == p.numel()
                        ? c
                        : (int64_t)(gmrt_uniform(seed, 7000 + (uint32_t)j, c, 1) * p.numel());
        Real a = g.data[i], err = 0;
        // A kink (relu, |x|) within h of the point spoils the difference at
        // that step but not at a much smaller one; a wrong rule fails at
        // both. So a failing coordinate is tried again at h / 16, and the
        // better of the two counts.
        for (Real h : {1e-6L * std::max<Real>(1.0L, std::fabs(p.data[i])),
                       1e-6L / 16 * std::max<Real>(1.0L, std::fabs(p.data[i]))}) {
          Real plus, minus;
          if (!lossAt(p.data[i], p.data[i] + h, plus) ||
              !lossAt(p.data[i], p.data[i] - h, minus)) {
            llvm::errs() << "gmc: error: " << lossName << ": " << error << "\n";
            return 1;
          }
          Real fd = (plus - minus) / (2 * h);
          // Relative, with a floor so that two near-zero numbers agree.
          err = std::fabs(a - fd) / std::max({std::fabs(a), std::fabs(fd), (Real)1e-3});
          if (err <= tolerance)
            break;
        }
        maxErr = std::max(maxErr, (double)err);
      }
      worst = std::max(worst, maxErr);
      bool good = maxErr <= tolerance;
      ok &= good;
      llvm::outs() << "  " << (good ? "ok  " : "FAIL") << " " << name << "  max rel error "
                   << llvm::format("%.2e", maxErr) << " (" << n << " of " << p.numel()
                   << ")\n";
    }
  }
  if (!any) {
    llvm::errs() << "gmc: error: the model has no training step to check\n";
    return 1;
  }
  llvm::outs() << (ok ? "all gradients within " : "gradients off by more than ")
               << llvm::format("%.0e", (double)tolerance) << " (worst "
               << llvm::format("%.2e", worst) << ")\n";
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // `gmc check-grad FILE.gm ...`: a subcommand, the rest parsed as usual.
  bool checkGrad = argc > 1 && llvm::StringRef(argv[1]) == "check-grad";
  if (checkGrad) {
    for (int i = 1; i + 1 < argc; ++i)
      argv[i] = argv[i + 1];
    --argc;
  }
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  // -mlir-timing and friends: where the MLIR half of a compile goes (LLVM's
  // own -time-passes covers the other half).
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "gm compiler\n");

  // The target is resolved first, when code will be generated: a bad -mcpu
  // fails before any work.
  gm::CPUTarget target;
  std::string targetError;
  bool needsTarget = printTarget || (emitAction >= DumpLLVM && !checkGrad);
  if (needsTarget && !gm::resolveTarget(mcpu, mattr, target, targetError)) {
    llvm::errs() << "gmc: error: " << targetError << "\n";
    return 1;
  }
  if (printTarget) {
    llvm::outs() << "cpu " << target.cpu << " (-mcpu=" << target.requested << ")\n"
                 << "level x86-64" << (target.level > 1 ? "-v" + std::to_string(target.level) : "")
                 << "\nisa";
    for (const std::string &e : target.isa)
      llvm::outs() << " " << e;
    llvm::outs() << "\n";
    return 0;
  }
  // --target: the CPU always runs the host code; cuda adds PTX kernels.
  std::vector<std::string> cudaChips;
  std::string libdevice;
  if (targetList == "cuda" || targetList == "cpu,cuda" || targetList == "cuda,cpu") {
    cudaChips.assign(cudaArch.begin(), cudaArch.end());
    if (cudaChips.empty())
      cudaChips = {"sm_80", "sm_90"};
    for (const std::string &chip : cudaChips) {
      llvm::StringRef digits(chip);
      if (!digits.consume_front("sm_") || digits.empty() ||
          !llvm::all_of(digits, [](char c) { return llvm::isDigit(c); })) {
        llvm::errs() << "gmc: error: -cuda-arch expects chips like sm_80 or sm_90, got '"
                     << chip << "'\n";
        return 1;
      }
    }
    std::string cudaError;
    libdevice = gm::findLibdevice(cudaPath, cudaError);
    if (libdevice.empty()) {
      llvm::errs() << "gmc: error: " << cudaError << "\n";
      return 1;
    }
    if (!outlineKernels) {
      llvm::errs() << "gmc: error: --target=cuda compiles the kernels gm-outline-kernels "
                      "makes; drop -outline-kernels=false\n";
      return 1;
    }
  } else if (targetList != "cpu") {
    llvm::errs() << "gmc: error: --target expects cpu, cuda or cpu,cuda, got '" << targetList
                 << "'\n";
    return 1;
  }
  if (cudaEmulate && cudaChips.empty()) {
    llvm::errs() << "gmc: error: -cuda-emulate needs --target=cuda\n";
    return 1;
  }
  if (emitAction == DumpPTX && cudaChips.empty()) {
    llvm::errs() << "gmc: error: -emit=ptx needs --target=cuda\n";
    return 1;
  }
  if (inputFilename.empty()) {
    llvm::errs() << "gmc: error: no input file (gmc --help)\n";
    return 1;
  }

  auto fileOrErr = llvm::MemoryBuffer::getFileOrSTDIN(inputFilename,
                                                      /*IsText=*/false);
  if (std::error_code ec = fileOrErr.getError()) {
    llvm::errs() << "gmc: error: cannot read '" << inputFilename
                 << "': " << ec.message() << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  unsigned bufferId =
      sourceMgr.AddNewSourceBuffer(std::move(*fileOrErr), llvm::SMLoc());
  llvm::StringRef buffer = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();

  auto reportFrontend = [&](gm::Loc loc, const llvm::Twine &msg) {
    llvm::SMLoc at =
        sourceMgr.FindLocForLineAndColumn(bufferId, loc.line, loc.col);
    sourceMgr.PrintMessage(llvm::errs(), at, llvm::SourceMgr::DK_Error, msg);
  };
  std::unique_ptr<gm::ModelAST> ast = gm::parseModel(buffer, reportFrontend);
  if (!ast)
    return 1;

  // The artifact goes next to the working directory under the model's file
  // name unless -o says otherwise; text stages go to stdout.
  if (emitAction == EmitArtifact && outputFilename == "-" && !checkGrad) {
    llvm::StringRef stem = llvm::sys::path::stem(inputFilename.getValue());
    outputFilename = (stem.empty() || inputFilename == "-" ? "model" : stem.str()) + ".gmx";
  }
  std::string error;
  bool binaryOut = emitAction == EmitObject;
  if (binaryOut && outputFilename == "-" && !checkGrad &&
      llvm::sys::Process::StandardOutIsDisplayed()) {
    llvm::errs() << "gmc: error: not writing an object file to a terminal; use -o FILE\n";
    return 1;
  }
  // The artifact's object file goes to a temporary, linked at the end; other
  // stages write the output directly.
  std::unique_ptr<llvm::ToolOutputFile> output;
  if (emitAction != EmitArtifact || checkGrad) {
    output = mlir::openOutputFile(outputFilename, &error);
    if (!output) {
      llvm::errs() << "gmc: error: " << error << "\n";
      return 1;
    }
  }

  if (emitAction == DumpAST) {
    gm::dumpAST(*ast, output->os());
    output->keep();
    return 0;
  }

  // -j threads for MLIR's nested passes (per function) as for LLVM.
  unsigned threads =
      jobs ? jobs.getValue() : llvm::heavyweight_hardware_concurrency().compute_thread_count();
  llvm::DefaultThreadPool pool(llvm::hardware_concurrency(threads));
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  if (threads > 1)
    context.setThreadPool(pool);
  context.getOrLoadDialect<mlir::gm::GMDialect>();
  if (emitAction >= DumpLinalg)
    gm::registerCodeGenDialects(context);
  // Diagnostics point at the .gm source; a dump of the op would only repeat
  // it in IR that the user did not write.
  context.printOpOnDiagnostic(false);
  mlir::SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  // Counts the errors reported, then hands each on to the handler above: a
  // failure with none reported is a compiler bug, and still says so.
  unsigned errors = 0;
  context.getDiagEngine().registerHandler([&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::failure();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gm::mlirGen(context, *ast,
                  inputFilename == "-" ? std::string("<stdin>") : inputFilename.getValue());
  if (!module) {
    if (errors == 0)
      llvm::errs() << inputFilename << ": error: internal: code generation failed without "
                                       "a diagnostic (a gmc bug; please report it with this file)\n";
    return 1;
  }
  if (checkGrad || emitAction >= DumpLoss) {
    mlir::PassManager pm(&context);
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    gm::buildTrainingPipeline(pm, checkGrad ? gm::TrainingPhase::Gradients
                                  : emitAction >= DumpTrain
                                      ? gm::TrainingPhase::TrainSteps
                                  : emitAction >= DumpGrad
                                      ? gm::TrainingPhase::Gradients
                                      : gm::TrainingPhase::Losses);
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  if (checkGrad)
    return checkGradients(*module->getOps<mlir::gm::ModelOp>().begin());
  if (emitAction >= DumpLinalg) {
    mlir::PassManager pm(&context);
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    if (matmul != "blas" && matmul != "loops") {
      llvm::errs() << "gmc: error: -matmul expects blas or loops, got '" << matmul << "'\n";
      return 1;
    }
    if (conv != "library" && conv != "im2col") {
      llvm::errs() << "gmc: error: -conv expects library or im2col, got '" << conv << "'\n";
      return 1;
    }
    if (math != "approximate" && math != "exact") {
      llvm::errs() << "gmc: error: -math expects approximate or exact, got '" << math << "'\n";
      return 1;
    }
    gm::buildLinalgPipeline(pm, matmul == "blas" && conv == "library");
    if (emitAction >= DumpLLVM) {
      gm::LLVMPipelineOptions options;
      options.blas = matmul == "blas";
      options.checkNumerics = checkNumerics;
      options.exactMath = math == "exact";
      options.outlineKernels = outlineKernels;
      options.parallelLoops = parallelLoops;
      options.parallelMinWork = parallelMinWork;
      options.cuda.chips = cudaChips;
      options.cuda.libdevice = libdevice;
      options.cuda.emulate = cudaEmulate;
      gm::buildLLVMPipeline(pm, options);
    }
    // (A pass may report an error and still succeed: gpu-module-to-binary
    // on a toolkit it cannot use.)
    if (mlir::failed(pm.run(*module)) || errors > 0)
      return 1;
    std::vector<gm::CUDAModule> ptx;
    if (emitAction >= DumpLLVM) {
      mlir::FailureOr<std::vector<gm::CUDAModule>> taken = gm::takeCUDAModules(*module);
      if (mlir::failed(taken))
        return 1;
      ptx = std::move(*taken);
    }
    if (emitAction == DumpPTX) {
      for (const gm::CUDAModule &m : ptx)
        output->os() << "// gm kernels for " << m.chip << "\n" << m.ptx << "\n";
      output->keep();
      return 0;
    }
    if (emitAction >= DumpLLVM && mlir::failed(gm::addArtifactABI(*module, target, ptx)))
      return 1;
  }
  if (emitAction == DumpLLVMIR || emitAction == EmitObject) {
    if (mlir::failed(gm::emitObject(*module, target, output->os(), emitAction == DumpLLVMIR, error))) {
      llvm::errs() << "gmc: error: " << error << "\n";
      return 1;
    }
    output->keep();
    return 0;
  }
  if (emitAction == EmitArtifact) {
    std::vector<std::string> objects;
    if (mlir::failed(gm::emitObjects(*module, target, threads, objects, error))) {
      llvm::errs() << "gmc: error: " << error << "\n";
      return 1;
    }
    // ld.lld reads files: each object goes to a temporary, removed after.
    std::vector<std::string> paths;
    bool ok = true;
    for (const std::string &object : objects) {
      llvm::SmallString<128> path;
      int fd;
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile("gmc", "o", fd, path)) {
        error = "cannot create a temporary file: " + ec.message();
        ok = false;
        break;
      }
      paths.push_back(path.str().str());
      llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
      os << object;
      os.close();
      if (os.has_error()) {
        error = "cannot write '" + paths.back() + "': " + os.error().message();
        os.clear_error();
        ok = false;
        break;
      }
    }
    ok = ok && gm::linkArtifact(paths, outputFilename, error);
    for (const std::string &path : paths)
      llvm::sys::fs::remove(path);
    if (!ok) {
      llvm::errs() << "gmc: error: " << error << "\n";
      return 1;
    }
    return 0;
  }
  module->print(output->os());
  output->keep();
  return 0;
}
