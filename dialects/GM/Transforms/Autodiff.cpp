//===- Autodiff.cpp - reverse-mode differentiation of losses --------------===//
//
// For each loss written by gm-build-losses (and expanded by
// gm-expand-objectives), builds its gradient function:
//
//   1. clone the loss and inline every net call (nets are single blocks);
//   2. mark the values that depend on the player's parameters (activity);
//   3. walk the ops backwards, asking each active op for its vector-Jacobian
//      product and adding adjoints where a value fans out (reverseSweep,
//      ReverseSweep.cpp);
//   4. return the loss and, per parameter, the sum of the adjoints of its
//      gm.param_ref reads (zeros when the loss does not depend on it).
//
// Expects: gm.func losses (role loss) with a scalar result and `groups`.
// Errors are reported at the op that blocks differentiation.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMAUTODIFFPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

struct Autodiff : public mlir::gm::impl::GMAutodiffPassBase<Autodiff> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>()) {
      SmallVector<FuncOp> losses;
      for (FuncOp fn : model.getBlock().getOps<FuncOp>())
        if (fn.getRole() == FuncRole::loss)
          losses.push_back(fn);
      for (FuncOp loss : losses)
        if (failed(differentiate(model, loss)))
          return signalPassFailure();
    }
  }

  LogicalResult differentiate(ModelOp model, FuncOp loss);
};

LogicalResult Autodiff::differentiate(ModelOp model, FuncOp loss) {
  std::string name = (loss.getStepAttr().getValue() + ".grad." +
                      stringifyPlayer(*loss.getPlayer()))
                         .str();
  if (SymbolTable::lookupSymbolIn(model, name))
    return loss.emitError() << "cannot write gradient @" << name
                            << ": the symbol is taken";

  // The parameters of the player's groups, in group order.
  llvm::SetVector<StringAttr> params;
  ArrayAttr groups = *loss.getGroups();
  for (Attribute ref : groups) {
    auto group = SymbolTable::lookupNearestSymbolFrom<GroupOp>(
        loss, cast<FlatSymbolRefAttr>(ref));
    for (Attribute p : group.getParams())
      params.insert(cast<FlatSymbolRefAttr>(p).getAttr());
  }

  OpBuilder b(model.getContext());
  b.setInsertionPointAfter(loss);
  auto grad = cast<FuncOp>(b.clone(*loss));
  grad.setSymName(name);
  if (failed(inlineCalls(grad)))
    return failure();

  Block &block = grad.getBody().front();
  auto ret = cast<ReturnOp>(block.getTerminator());

  // Activity: values that depend on a parameter being differentiated.
  llvm::DenseSet<Value> active;
  for (Operation &op : block) {
    bool isActive = false;
    if (auto ref = dyn_cast<ParamRefOp>(op))
      isActive = params.contains(ref.getNameAttr().getAttr());
    else
      isActive = llvm::any_of(op.getOperands(),
                              [&](Value v) { return active.contains(v); });
    if (isActive)
      for (Value r : op.getResults())
        active.insert(r);
  }

  // Reverse sweep; the adjoint code goes before the return.
  llvm::DenseMap<Value, Value> adjoint;
  b.setInsertionPoint(ret);
  Location loc = ret.getLoc();
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  Value lossValue = ret.getOperand(0);
  adjoint[lossValue] = b.create<ConstantOp>(
      loc, scalar, DenseElementsAttr::get(scalar, 1.0f));

  SmallVector<Operation *> forward;
  for (Operation &op : block)
    if (&op != ret.getOperation())
      forward.push_back(&op);
  if (failed(reverseSweep(b, forward, active, adjoint,
                          ("the loss @" + loss.getSymName() +
                           " depends through it on the parameters being trained")
                              .str())))
    return failure();

  // Per parameter: the sum over its reads, or zeros.
  SmallVector<Value> results{lossValue};
  SmallVector<Attribute> refs;
  for (StringAttr p : params) {
    Value sum;
    for (Operation &op : block)
      if (auto ref = dyn_cast<ParamRefOp>(op))
        if (ref.getNameAttr().getAttr() == p)
          if (Value a = adjoint.lookup(ref.getResult()))
            sum = sum ? b.create<AddOp>(loc, sum, a).getResult() : a;
    if (!sum) {
      auto param = SymbolTable::lookupNearestSymbolFrom<ParamOp>(
          grad, FlatSymbolRefAttr::get(p));
      auto type = cast<RankedTensorType>(param.getType());
      sum = b.create<ConstantOp>(loc, type, DenseElementsAttr::get(type, 0.0f));
    }
    results.push_back(sum);
    refs.push_back(FlatSymbolRefAttr::get(p));
  }
  b.create<ReturnOp>(loc, results);
  ret.erase();
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  grad.setRole(FuncRole::gradient);
  grad.setParamsAttr(b.getArrayAttr(refs));
  grad.setLossAttr(FlatSymbolRefAttr::get(loss.getSymNameAttr()));
  return success();
}

} // namespace
