//===- ApproximateMath.cpp - transcendental functions as polynomials ------===//
//
// exp, log, log1p, tanh, ... as polynomials in f32 arithmetic (MLIR's
// approximations): LLVM vectorises them with the loops around them, where
// libm calls would keep every elementwise loop scalar. gmc -math=exact
// leaves them to libm instead (docs/codegen.md measures both).
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {

struct ApproximateMath : PassWrapper<ApproximateMath, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMath)
  StringRef getArgument() const final { return "gm-approximate-math"; }
  StringRef getDescription() const final {
    return "exp, log, tanh and the like as vectorisable f32 polynomials";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, math::MathDialect, vector::VectorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> gm::createApproximateMathPass() {
  return std::make_unique<ApproximateMath>();
}
