//===- FuseElementwise.cpp - elementwise chains into one loop nest --------===//
//
// Elementwise fusion: a parallel generic into the one generic that reads it.
// Unlike linalg's pass, reshapes are not propagated through generics and
// nothing is fused into or expanded through a matrix product, so every
// product stays a named op for gm-matmul-to-blas (linalg's reshape
// propagation turns im2col's collapse-product-expand into a 5-d generic
// contraction, which then runs as naive loops: beta-VAE 19 images/s).
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {

struct FuseElementwise : PassWrapper<FuseElementwise, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwise)
  StringRef getArgument() const final { return "gm-fuse-elementwise"; }
  StringRef getDescription() const final {
    return "fuse each elementwise generic into the one generic that reads it";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<linalg::LinalgDialect, tensor::TensorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, [](OpOperand *operand) {
      // One use only, as linalg's own pass: fusing into several consumers
      // would compute the producer once per consumer.
      auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
      auto consumer = dyn_cast<linalg::GenericOp>(operand->getOwner());
      if (!producer || !producer->hasOneUse() || !linalg::isElementwise(producer) || !consumer)
        return false;
      // A producer that reads its own output (a bias added in place to a
      // convolution's result) keeps that output in the fused op, indexed by
      // the consumer's map of the operand. Unless that map is a permutation,
      // several iterations then read and write one element (an upsample's
      // floordiv: the bias added up to 4 times, progan's first miscompile).
      bool readsOutputs = llvm::any_of(producer.getDpsInitsMutable(), [&](OpOperand &init) {
        return producer.payloadUsesValueFromOperand(&init);
      });
      return !readsOutputs || consumer.getMatchingIndexingMap(operand).isPermutation();
    });
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> gm::createFuseElementwisePass() {
  return std::make_unique<FuseElementwise>();
}
