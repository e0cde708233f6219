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

  // Data kinds come from the objective's `inputs`; net arguments are real.
  auto inputs = fn->getAttrOfType<ArrayAttr>("inputs");
  bool random = dataMode == "random";
  double fill = 0;
  if (!random && llvm::StringRef(dataMode).getAsDouble(fill))
    return fail("--data must be 'random' or a number, got '" + dataMode + "'");
  std::vector<::gm::RtValue> args;
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    if (isa<mlir::gm::KeyType>(type)) {
      args.push_back(::gm::RtValue::ofKey(seed));
      continue;
    }
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType)
      return fail("cannot make an argument of type " + llvm::Twine(i));
    llvm::SmallVector<int64_t> shape(tensorType.getShape());
    for (int64_t &d : shape)
      if (ShapedType::isDynamic(d))
        d = batch;
    ::gm::Tensor t(shape);
    mlir::gm::DataKind kind = mlir::gm::DataKind::real;
    int64_t classes = 0;
    if (inputs && i < inputs.size())
      if (auto data = SymbolTable::lookupSymbolIn(
              model, cast<FlatSymbolRefAttr>(inputs[i]).getAttr()))
        if (auto d = dyn_cast<mlir::gm::DataOp>(data)) {
          kind = d.getKind();
          classes = d.getClasses().value_or(0);
        }
    uint32_t stream = 1000 + (uint32_t)i;
    if (kind == mlir::gm::DataKind::real) {
      for (int64_t j = 0; j < t.numel(); ++j)
        t.data[j] = random ? gmrt_uniform(seed, stream, j, 0) : fill;
    } else if (kind == mlir::gm::DataKind::tokens) {
      for (int64_t j = 0; j < t.numel(); ++j)
        t.data[j] = (double)(gmrt_rng_block_word(seed, stream, j) % classes);
    } else {
      int64_t k = shape.back();
      for (int64_t r = 0; r < t.numel() / k; ++r)
        t.data[r * k + gmrt_rng_block_word(seed, stream, r) % k] = 1.0;
    }
    args.push_back(::gm::RtValue::ofTensor(std::move(t)));
  }

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
