//===- gm-opt.cpp - the gm dialect's opt driver ---------------------------===//
//
// MlirOptMain with the gm dialect and the upstream dialects gm IR is mixed
// with. Only what gm uses is registered, which keeps this file fast to build.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"
#include "dialects/GM/IR/GMOps.h"
#include "dialects/GM/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::gm::registerGMPasses();
  gm::registerTrainingPipeline();

  mlir::DialectRegistry registry;
  registry.insert<mlir::gm::GMDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "gm optimizer driver\n", registry));
}
