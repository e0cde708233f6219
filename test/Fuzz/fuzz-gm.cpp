//===- fuzz-gm.cpp - libFuzzer target: the .gm front end to training IR ---===//
//
// One input is one .gm file: parsed, generated into the gm dialect,
// verified, and put through the training pipeline (losses, gradients,
// optimizer steps), as `gmc -emit=train` does. Errors are expected and
// swallowed; a crash, a sanitizer report, a leak or a hang is a finding.
// Code generation is left out: its input is IR these passes produced, and
// test/Robustness/sanitized.test runs it under the sanitizers.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Parser.h"
#include "compiler/MLIRGen/MLIRGen.h"
#include "compiler/Pipelines/Pipelines.h"
#include "dialects/GM/IR/GMDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context for the process: creating one per input would dominate.
  static mlir::MLIRContext *context = [] {
    auto *c = new mlir::MLIRContext(mlir::MLIRContext::Threading::DISABLED);
    c->getOrLoadDialect<mlir::gm::GMDialect>();
    c->printOpOnDiagnostic(false);
    return c;
  }();
  llvm::StringRef buffer(reinterpret_cast<const char *>(data), size);
  std::unique_ptr<gm::ModelAST> ast = gm::parseModel(buffer, [](gm::Loc, const llvm::Twine &) {});
  if (!ast)
    return 0;
  mlir::ScopedDiagnosticHandler quiet(context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = gm::mlirGen(*context, *ast, "fuzz.gm");
  if (!module)
    return 0;
  mlir::PassManager pm(context);
  gm::buildTrainingPipeline(pm, gm::TrainingPhase::TrainSteps);
  (void)pm.run(*module);
  return 0;
}
