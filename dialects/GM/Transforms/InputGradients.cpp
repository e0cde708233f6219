//===- InputGradients.cpp - gm.grad as the code that computes it ----------===//
//
// d sum(of) / d wrt, written in place as the reverse sweep autodiff would
// build (ReverseSweep.cpp): after it, a loss holding a gradient (WGAN-GP's
// penalty on the critic's input gradient) is plain gm ops, and gm-autodiff
// differentiates it again for the parameters, which is a second-order
// derivative assembled from first-order rules. Runs after
// gm-expand-objectives, on every gm.func: losses, evaluations, scores.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/Builders.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMEXPANDINPUTGRADSPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

struct ExpandInputGrads
    : public mlir::gm::impl::GMExpandInputGradsPassBase<ExpandInputGrads> {
  void runOnOperation() override {
    SmallVector<FuncOp> fns;
    getOperation().walk([&](FuncOp fn) { fns.push_back(fn); });
    for (FuncOp fn : fns)
      if (failed(expand(fn)))
        return signalPassFailure();
  }

  LogicalResult expand(FuncOp fn) {
    if (fn.walk([](GradOp) { return WalkResult::interrupt(); }).wasInterrupted() == false)
      return success();
    // The ops between wrt and of must be in one block: nets inlined.
    if (failed(inlineCalls(fn)))
      return failure();
    // In program order, so a gradient of a gradient sees its inner one
    // already expanded.
    SmallVector<GradOp> grads;
    fn.walk([&](GradOp g) { grads.push_back(g); });
    for (GradOp g : grads) {
      Block *block = g->getBlock();
      if (g.getWrt().getParentBlock() != block || g.getOf().getParentBlock() != block)
        return g.emitOpError() << "expects its value and input in its own block";
      // Active: what depends on wrt, up to the gm.grad.
      llvm::DenseSet<Value> active{g.getWrt()};
      SmallVector<Operation *> forward;
      for (Operation &op : *block) {
        if (&op == g.getOperation())
          break;
        forward.push_back(&op);
        if (llvm::any_of(op.getOperands(), [&](Value v) { return active.contains(v); }))
          for (Value r : op.getResults())
            active.insert(r);
      }
      OpBuilder b(g);
      GMBuilder gb(b, g.getLoc());
      llvm::DenseMap<Value, Value> adjoint;
      adjoint[g.getOf()] = gb.fill(1.0, g.getOf());
      if (failed(reverseSweep(b, forward, active, adjoint,
                              "gm.grad's value depends through it on its input")))
        return failure();
      Value d = adjoint.lookup(g.getWrt());
      if (!d) // of does not depend on wrt
        d = gb.fill(0.0, g.getWrt());
      g.replaceAllUsesWith(d);
      g.erase();
    }
    // The sweep builds every operand's adjoint (a linear layer's dW too);
    // the ones nothing reads go.
    eraseDeadOps(fn.getBody().front());
    return success();
  }
};

} // namespace
