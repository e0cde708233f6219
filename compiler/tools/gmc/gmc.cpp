//===- gmc.cpp - the gm compiler driver -----------------------------------===//
//
// gmc FILE.gm -emit=<stage> [-o OUT]
//
// Stages are ordered (ast < gm < ...); each later issue adds the next one,
// and `emitAction >= X` decides how far to go. Every error goes to stderr as
// `file:line:col: error: message` with the source line and a caret, and gmc
// exits with status 1; a crash (a bug) prints a stack trace and a different
// status.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/AST.h"
#include "compiler/Frontend/Parser.h"
#include "compiler/MLIRGen/MLIRGen.h"
#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

namespace cl = llvm::cl;

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .gm file>"),
                                          cl::Required);
static cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                           cl::value_desc("filename"),
                                           cl::init("-"));

namespace {
/// How far to compile; ordered, so `emitAction >= DumpGM` means "at least gm".
enum Action { DumpAST, DumpGM };
} // namespace

static cl::opt<Action> emitAction(
    "emit", cl::desc("The stage to stop at and print"), cl::init(DumpGM),
    cl::values(clEnumValN(DumpAST, "ast", "the syntax tree"),
               clEnumValN(DumpGM, "gm", "the gm dialect IR, verified")));

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "gm compiler\n");

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

  std::string error;
  auto output = mlir::openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << "gmc: error: " << error << "\n";
    return 1;
  }

  if (emitAction == DumpAST) {
    gm::dumpAST(*ast, output->os());
    output->keep();
    return 0;
  }

  mlir::MLIRContext context;
  context.getOrLoadDialect<mlir::gm::GMDialect>();
  mlir::SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gm::mlirGen(context, *ast,
                  inputFilename == "-" ? std::string("<stdin>") : inputFilename.getValue());
  if (!module)
    return 1;
  module->print(output->os());
  output->keep();
  return 0;
}
