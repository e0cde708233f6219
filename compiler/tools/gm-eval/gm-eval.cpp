//===- gm-eval.cpp - run gm functions with the reference evaluator --------===//
//
// gm-eval FILE.gm|FILE.mlir --function=NAME [--batch=N] [--seed=S]
//         [--data=random|VALUE] [--alpha=A]
//
// Initialises the parameters from their initialisers (seeded), fills every
// data argument (random in [0, 1), random one-hot labels and token ids, or
// the constant VALUE), passes the seed as the !gm.key, runs NAME in double
// precision and prints each result, one value per line, with 10 significant
// digits. The oracle the compiler's later stages are checked against.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Evaluator.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/MLIRGen/MLIRGen.h"
#include "dialects/GM/IR/GMOps.h"
#include "runtime/include/gmrt/rng.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
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

  std::vector<::gm::RtValue> results;
  std::string error;
  if (!eval.call(function, args, results, error))
    return fail(error);
  for (auto [i, r] : llvm::enumerate(results)) {
    if (r.kind != ::gm::RtValue::Kind::Tensor) {
      llvm::outs() << "result " << i << ": (not a tensor)\n";
      continue;
    }
    llvm::outs() << "result " << i << ": [";
    for (auto [j, d] : llvm::enumerate(r.tensor.shape))
      llvm::outs() << (j ? ", " : "") << d;
    llvm::outs() << "]\n";
    for (double v : r.tensor.data)
      llvm::outs() << llvm::format("%.10g", v) << "\n";
  }
  return 0;
}
