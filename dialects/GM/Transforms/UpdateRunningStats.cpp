//===- UpdateRunningStats.cpp - batch norm statistics in training steps ---===//
//
// After gm-build-train-steps: a training step also moves the running
// statistics of the batch norms its player trains toward the batch's, as
// PyTorch's training mode does. Over the axes R of each channel (all but
// axis 1), with n their element count:
//
//   running_mean = (1 - momentum) running_mean + momentum mean_R(x)
//   running_var  = (1 - momentum) running_var
//                  + momentum sum_R (x - mean_R(x))^2 / max(n - 1, 1)
//
// (the running variance is the unbiased one; training mode normalises with
// the biased). This is written in primitives in the gradient function, just
// after the forward gm.batch_norm, and returned after the gradients (the
// function's `running_stats` names them). The training step writes them with
// gm.assign after the parameters. A layer applied several times in one loss
// (a discriminator on real, then on generated images) moves them once per
// application, in program order. Only the player that trains a batch norm's
// gamma moves its statistics: a discriminator step that runs the generator
// leaves the generator's alone.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMUPDATERUNNINGSTATSPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

struct UpdateRunningStats
    : public mlir::gm::impl::GMUpdateRunningStatsPassBase<UpdateRunningStats> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>()) {
      SmallVector<FuncOp> steps;
      for (FuncOp fn : model.getBlock().getOps<FuncOp>())
        if (fn.getRole() == FuncRole::train)
          steps.push_back(fn);
      for (FuncOp step : steps)
        if (failed(update(model, step)))
          return signalPassFailure();
    }
  }

  LogicalResult update(ModelOp model, FuncOp step);
};

/// The statistic |v| reads (gm.param_ref of a gm.param {statistic}).
FailureOr<StringAttr> statisticRead(ModelOp model, BatchNormOp bn, Value v) {
  auto ref = v.getDefiningOp<ParamRefOp>();
  auto p = ref ? SymbolTable::lookupSymbolIn(model, ref.getNameAttr().getAttr()) : nullptr;
  if (!p || !cast<ParamOp>(p).getStatistic())
    return bn.emitOpError() << "expects its running statistics read from gm.param {statistic}";
  return ref.getNameAttr().getAttr();
}

LogicalResult UpdateRunningStats::update(ModelOp model, FuncOp step) {
  CallOp call;
  step.walk([&](CallOp c) { call = c; });
  auto grad = call ? dyn_cast_or_null<FuncOp>(
                         SymbolTable::lookupSymbolIn(model, call.getCalleeAttr().getAttr()))
                   : FuncOp();
  if (!grad || grad.getRole() != FuncRole::gradient)
    return step.emitOpError() << "expects a call of its gradient function";
  llvm::DenseSet<Attribute> trained(step.getParams()->begin(), step.getParams()->end());

  // The new value of each statistic, chained over the applications.
  llvm::MapVector<StringAttr, Value> latest;
  SmallVector<BatchNormOp> norms;
  grad.walk([&](BatchNormOp bn) {
    auto gamma = bn.getGamma().getDefiningOp<ParamRefOp>();
    if (gamma && trained.contains(gamma.getNameAttr()))
      norms.push_back(bn);
  });
  for (BatchNormOp bn : norms) {
    FailureOr<StringAttr> meanSym = statisticRead(model, bn, bn.getRunningMean());
    FailureOr<StringAttr> varSym = statisticRead(model, bn, bn.getRunningVar());
    if (failed(meanSym) || failed(varSym))
      return failure();
    OpBuilder b(bn->getContext());
    b.setInsertionPointAfter(bn);
    Location loc = bn.getLoc();
    GMBuilder g(b, loc);
    Value x = bn.getInput();
    SmallVector<int64_t> axes = GMBuilder::channelReduceAxes(x);
    RankedTensorType chType = GMBuilder::type(bn.getGamma());
    Value mean = b.create<MeanOp>(loc, chType, x, b.getDenseI64ArrayAttr(axes));
    Value centred = g.sub(x, g.expand(mean, axes, x));
    // max(n - 1, 1) = 1 + relu(n - 2): a batch of one moves nothing to Inf.
    Value n = b.create<SizeOp>(loc, x, b.getDenseI64ArrayAttr(axes));
    Value denom = g.add(g.scalar(1.0), b.create<ReluOp>(loc, g.sub(n, g.scalar(2.0))));
    Value var = g.div(g.sum(g.mul(centred, centred), axes), g.broadcastTo(denom, chType, mean));
    double m = bn.getMomentum().convertToDouble();
    for (auto [sym, stat, read] : {std::make_tuple(*meanSym, mean, bn.getRunningMean()),
                                   std::make_tuple(*varSym, var, bn.getRunningVar())}) {
      Value old = latest.count(sym) ? latest[sym] : read;
      latest[sym] = g.add(g.scale(old, 1.0 - m), g.scale(stat, m));
    }
  }
  if (latest.empty())
    return success();

  // The gradient returns them after its gradients...
  auto ret = cast<ReturnOp>(grad.getBody().front().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  unsigned before = results.size();
  SmallVector<Attribute> names;
  for (auto &[sym, value] : latest) {
    results.push_back(value);
    names.push_back(FlatSymbolRefAttr::get(sym));
  }
  OpBuilder b(ret);
  b.create<ReturnOp>(ret.getLoc(), results);
  ret.erase();
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(), types));
  grad.setRunningStatsAttr(b.getArrayAttr(names));

  // ...and the training step writes them, after every read.
  b.setInsertionPoint(call);
  auto wider = b.create<CallOp>(call.getLoc(), types, call.getCalleeAttr(), call.getOperands());
  for (auto [from, to] : llvm::zip(call.getResults(), wider.getResults()))
    from.replaceAllUsesWith(to);
  call.erase();
  b.setInsertionPoint(step.getBody().front().getTerminator());
  for (auto [i, name] : llvm::enumerate(names))
    b.create<AssignOp>(wider.getLoc(), cast<FlatSymbolRefAttr>(name),
                       wider.getResult(before + i));
  return success();
}

} // namespace
