//===- ReverseSweep.cpp - the reverse sweep of reverse-mode autodiff ------===//
//
// One walk backwards over a block's ops, asking each active op for its
// vector-Jacobian product (DifferentiableOpInterface) and adding adjoints
// where a value fans out. gm-autodiff runs it from a loss to the
// parameters; gm-expand-input-grads from a gm.grad's value to its input.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::gm;

LogicalResult mlir::gm::reverseSweep(OpBuilder &b, ArrayRef<Operation *> forward,
                                     const llvm::DenseSet<Value> &active,
                                     llvm::DenseMap<Value, Value> &adjoint, StringRef what) {
  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultAdj;
    bool any = false;
    for (Value r : op->getResults()) {
      resultAdj.push_back(adjoint.lookup(r));
      any |= (bool)resultAdj.back();
    }
    if (!any || !llvm::any_of(op->getOperands(), [&](Value v) { return active.contains(v); }))
      continue;
    if (auto s = dyn_cast<SampleOp>(op)) {
      if (s.getEstimator() == Estimator::none)
        continue; // a constant draw: nothing flows back
      return s.emitOpError()
             << (s.getEstimator() == Estimator::score_function
                     ? "needs a score-function (REINFORCE) gradient, which is "
                       "not implemented: its distribution depends on trained "
                       "parameters and cannot be reparameterised"
                     : "is still reparameterised; run gm-expand-objectives "
                       "first");
    }
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitOpError() << "has no gradient rule yet, and " << what;
    SmallVector<Value> operandAdj;
    if (failed(diff.buildVJP(b, resultAdj, operandAdj)))
      return failure();
    for (auto [v, a] : llvm::zip(op->getOperands(), operandAdj)) {
      if (!a || !active.contains(v))
        continue;
      if (a.getType() != v.getType())
        return op->emitError() << "gradient rule produced " << a.getType()
                               << " for an operand of type " << v.getType();
      Value &slot = adjoint[v];
      slot = slot ? b.create<AddOp>(op->getLoc(), slot, a).getResult() : a;
    }
  }
  return success();
}
