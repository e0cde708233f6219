//===- gm-eval.cpp - run gm functions with the reference evaluator --------===//
//
// gm-eval FILE.gm|FILE.mlir --function=NAME [--batch=N] [--seed=S]
//         [--data=random|VALUE] [--alpha=A] [--steps=N] [--report-params]
//         [--print-param=NAME]...
//
// NAME may be a net, an objective, or a function of the training pipeline
// (@<step>.loss.<player>, .grad., .train.), which is then run first.
//
// Initialises the parameters from their initialisers (seeded), fills every
// data argument (random in [0, 1), random one-hot labels and token ids, or
// the constant VALUE), passes the seed as the !gm.key, runs NAME in double
// precision and prints each result, one value per line, with 10 significant
// digits (with --steps=N > 1, first a trajectory: the first result after
// every step). The oracle the compiler's later stages are checked against.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Evaluator.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/MLIRGen/MLIRGen.h"
#include "compiler/Pipelines/Pipelines.h"
#include "dialects/GM/IR/GMOps.h"
#include "runtime/include/gmrt/rng.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

namespace cl = llvm::cl;
using namespace mlir;


static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<.gm or .mlir file>"));
static cl::opt<std::string> function("function", cl::Required,
                                     cl::desc("net or objective to run"));
static cl::opt<int64_t> batch("batch", cl::init(2), cl::desc("batch size"));
static cl::opt<uint64_t> seed("seed", cl::init(1),
                              cl::desc("seed of parameters, data and the key"));
static cl::opt<std::string> dataMode(
    "data", cl::init("random"),
    cl::desc("'random', or a number to fill every data argument with"));
static cl::opt<double> alpha("alpha", cl::init(1.0),
                             cl::desc("value of gm.schedule_alpha"));
static cl::opt<int> steps("steps", cl::init(1),
                          cl::desc("run the function this many times (a "
                                   "training step's t counts up from 1)"));
static cl::opt<bool> reportParams(
    "report-params", cl::desc("after running, say which parameters changed"));
static cl::list<std::string> printParams(
    "print-param", cl::desc("after running, print this parameter's values"));

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "gm-eval: error: " << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "gm reference evaluator\n");
  if (batch < 1 || batch > 4096)
    return fail("--batch must be between 1 and 4096");

  MLIRContext context;
  context.getOrLoadDialect<mlir::gm::GMDialect>();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module;
  if (llvm::StringRef(inputFilename).ends_with(".gm")) {
    auto file = llvm::MemoryBuffer::getFile(inputFilename);
    if (!file)
      return fail("cannot read '" + inputFilename + "': " +
                  file.getError().message());
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
    auto ast = ::gm::parseModel(
        sourceMgr.getMemoryBuffer(id)->getBuffer(),
        [&](::gm::Loc loc, const llvm::Twine &msg) {
          sourceMgr.PrintMessage(
              llvm::errs(), sourceMgr.FindLocForLineAndColumn(id, loc.line, loc.col),
              llvm::SourceMgr::DK_Error, msg);
        });
    if (!ast)
      return 1;
    module = ::gm::mlirGen(context, *ast, inputFilename);
  } else {
    module = parseSourceFile<ModuleOp>(inputFilename, sourceMgr, &context);
  }
  if (!module)
    return 1;
  auto models = module->getOps<mlir::gm::ModelOp>();
  if (models.empty())
    return fail("'" + inputFilename + "' holds no gm.model");
  mlir::gm::ModelOp model = *models.begin();

  // Derived functions (losses, gradients, training steps) exist after the
  // training pipeline: run it when the function asked for is not there yet.
  if (!SymbolTable::lookupSymbolIn(model, function)) {
    PassManager pm(&context);
    ::gm::buildTrainingPipeline(pm, ::gm::TrainingPhase::TrainSteps);
    if (failed(pm.run(*module)))
      return 1;
  }

  ::gm::Evaluator eval(model);
  eval.initParams(seed);
  eval.setScheduleAlpha(alpha);

  auto fn = dyn_cast_or_null<FunctionOpInterface>(
      SymbolTable::lookupSymbolIn(model, function));
  if (!fn)
    return fail("no net or objective named '" + function + "'");

  std::optional<double> fill;
  if (dataMode != "random") {
    double v;
    if (llvm::StringRef(dataMode).getAsDouble(v))
      return fail("--data must be 'random' or a number, got '" + dataMode + "'");
    fill = v;
  }
  std::vector<::gm::RtValue> args;
  std::string argError;
  if (!::gm::makeArguments(fn, model, batch, seed, fill, args, argError))
    return fail(argError);

  llvm::StringMap<::gm::Tensor> before;
  for (auto &kv : eval.params())
    before[kv.getKey()] = kv.getValue();
  auto func = dyn_cast<mlir::gm::FuncOp>(fn.getOperation());
  ArrayRef<StringRef> names = func ? func.getRuntimeArgNames() : ArrayRef<StringRef>();
  ArrayAttr inputs = mlir::gm::getDataInputs(fn);
  std::vector<::gm::RtValue> results;
  std::vector<double> trajectory; // the first result after every step
  for (int step = 1; step <= steps; ++step) {
    // The step count t, when the function takes one, is this step's number.
    for (auto [j, n] : llvm::enumerate(names))
      if (n == "t")
        args[(inputs ? inputs.size() : 0) + j].tensor.data[0] = step;
    results.clear();
    std::string error;
    if (!eval.call(function, args, results, error))
      return fail(error);
    if (!results.empty() && results[0].kind == ::gm::RtValue::Kind::Tensor &&
        !results[0].tensor.data.empty())
      trajectory.push_back((double)results[0].tensor.data[0]);
  }
  if (steps > 1) {
    llvm::outs() << "trajectory:\n";
    for (double v : trajectory)
      llvm::outs() << llvm::format("%.10g", v) << "\n";
  }
  for (auto [i, r] : llvm::enumerate(results)) {
    if (r.kind != ::gm::RtValue::Kind::Tensor) {
      llvm::outs() << "result " << i << ": (not a tensor)\n";
      continue;
    }
    llvm::outs() << "result " << i << ": [";
    for (auto [j, d] : llvm::enumerate(r.tensor.shape))
      llvm::outs() << (j ? ", " : "") << d;
    llvm::outs() << "]\n";
    for (::gm::Real v : r.tensor.data)
      llvm::outs() << llvm::format("%.10g", (double)v) << "\n";
  }
  if (reportParams)
    for (mlir::gm::ParamOp p : model.getBlock().getOps<mlir::gm::ParamOp>()) {
      bool same = before[p.getSymName()].data == eval.params().lookup(p.getSymName()).data;
      llvm::outs() << "param " << p.getSymName() << (same ? " unchanged" : " changed") << "\n";
    }
  for (const std::string &name : printParams) {
    ::gm::Tensor *t = eval.param(name);
    if (!t)
      return fail("no parameter named '" + name + "'");
    llvm::outs() << "param " << name << ":\n";
    for (::gm::Real v : t->data)
      llvm::outs() << llvm::format("%.10g", (double)v) << "\n";
  }
  return 0;
}
