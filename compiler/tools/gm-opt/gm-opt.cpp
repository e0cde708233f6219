//===- gm-opt.cpp - the gm dialect's opt driver ---------------------------===//
//
// MlirOptMain with the gm dialect and the upstream dialects gm IR is mixed
// with. Only what gm uses is registered, which keeps this file fast to build.
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/CodeGen.h"
#include "compiler/Pipelines/Pipelines.h"
#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/IR/GMOps.h"
#include "dialects/GM/Transforms/Passes.h"

#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  mlir::registerPass([] { return mlir::createReconcileUnrealizedCastsPass(); });
  // One-shot bufferization, to test how gm's lowering-stage ops bufferize.
  mlir::bufferization::registerOneShotBufferizePass();
  mlir::gm::registerGMPasses();
  mlir::gm::registerGMConversionPasses();
  gm::registerTrainingPipeline();
  gm::registerCodeGenPasses();
  mlir::PassPipelineRegistration<>(
      "gm-lower-to-linalg", "gm entry points to fused linalg on tensors",
      [](mlir::OpPassManager &pm) { gm::buildLinalgPipeline(pm); });
  mlir::PassPipelineRegistration<>(
      "gm-lower-to-llvm", "linalg on tensors to the LLVM dialect (bufferize, BLAS, loops)",
      [](mlir::OpPassManager &pm) { gm::buildLLVMPipeline(pm); });

  mlir::DialectRegistry registry;
  registry.insert<mlir::gm::GMDialect>();
  mlir::MLIRContext probe; // the code generation dialects, as gmc loads them
  gm::registerCodeGenDialects(probe);
  probe.getDialectRegistry().appendTo(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "gm optimizer driver\n", registry));
}
