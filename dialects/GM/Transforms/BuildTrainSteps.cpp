//===- BuildTrainSteps.cpp - optimizer steps as functions -----------------===//
//
// After gm-autodiff: for every gradient function @<step>.grad.<player>
// writes @<step>.train.<player>, one optimizer step for that player's
// parameters, and the optimizer's state as zero-initialised slots
// (gm.param with slot_of): Adam's @<step>.<player>.m.<param> and .v., SGD's
// .momentum.. The function takes the gradient's data, then the optimizer's
// hyper-parameters as runtime scalars (OptimizerAttr::getRuntimeArgs: Adam's
// t, lr, beta1, beta2, eps; SGD's lr, momentum; defaults in the optimizer
// attribute the function carries), then the key; it calls the
// gradient, updates every parameter and slot with gm.assign (after every
// read), and returns the loss.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/Builders.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMBUILDTRAINSTEPSPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

struct BuildTrainSteps
    : public mlir::gm::impl::GMBuildTrainStepsPassBase<BuildTrainSteps> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>()) {
      SmallVector<FuncOp> grads;
      for (FuncOp fn : model.getBlock().getOps<FuncOp>())
        if (fn.getRole() == FuncRole::gradient)
          grads.push_back(fn);
      for (FuncOp grad : grads)
        if (failed(build(model, grad)))
          return signalPassFailure();
    }
  }

  LogicalResult build(ModelOp model, FuncOp grad);
};

LogicalResult BuildTrainSteps::build(ModelOp model, FuncOp grad) {
  // The optimizer of this player, from the training block.
  FlatSymbolRefAttr stepRef = grad.getStepAttr();
  Player player = *grad.getPlayer();
  Operation *plan = SymbolTable::lookupSymbolIn(model, stepRef.getAttr());
  OptimizerAttr opt;
  if (auto step = dyn_cast_or_null<StepOp>(plan))
    opt = step.getOptimizer();
  else if (auto mm = dyn_cast_or_null<MinimaxOp>(plan))
    opt = player == Player::generator ? mm.getGenOptimizer() : mm.getDiscOptimizer();
  else
    return grad.emitError() << "no training block @" << stepRef.getValue();
  bool adam = opt.getKind() == OptimizerKind::adam;
  ArrayRef<StringRef> hparams = opt.getRuntimeArgs();
  ArrayRef<StringRef> slots = opt.getSlotNames();

  OpBuilder b(model.getContext());
  Location loc = grad.getLoc();
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  std::string base = (stepRef.getValue() + "." + stringifyPlayer(player)).str();

  // Slots, next to the parameters they serve.
  ArrayAttr params = *grad.getParams();
  SmallVector<SmallVector<ParamOp>> slotOps;
  for (Attribute ref : params) {
    auto p = SymbolTable::lookupNearestSymbolFrom<ParamOp>(grad, cast<FlatSymbolRefAttr>(ref));
    b.setInsertionPointAfter(p);
    slotOps.emplace_back();
    for (StringRef slot : slots) {
      std::string name = base + "." + slot.str() + "." + p.getSymName().str();
      if (SymbolTable::lookupSymbolIn(model, name))
        return grad.emitError() << "cannot create slot @" << name
                                << ": the symbol is taken";
      slotOps.back().push_back(b.create<ParamOp>(
          p.getLoc(), name, p.getType(), InitKind::zeros, FloatAttr(),
          FlatSymbolRefAttr::get(p.getSymNameAttr())));
    }
  }

  // The function: data..., hyper-parameters..., key.
  ArrayRef<Type> gradArgs = grad.getArgumentTypes();
  SmallVector<Type> argTypes(gradArgs.drop_back().begin(), gradArgs.drop_back().end());
  argTypes.append(hparams.size(), scalar);
  argTypes.push_back(gradArgs.back());
  std::string name = (stepRef.getValue() + ".train." + stringifyPlayer(player)).str();
  if (SymbolTable::lookupSymbolIn(model, name))
    return grad.emitError() << "cannot write training step @" << name
                            << ": the symbol is taken";
  b.setInsertionPointAfter(grad);
  auto fn = b.create<FuncOp>(loc, name, b.getFunctionType(argTypes, {scalar}));
  fn.setRole(FuncRole::train);
  fn.setInputsAttr(grad.getInputs());
  fn.setParamsAttr(params);
  fn.setStepAttr(stepRef);
  fn.setPlayer(player);
  fn.setOptimizerAttr(opt);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  unsigned numData = gradArgs.size() - 1;
  SmallVector<Value> callArgs(entry->getArguments().take_front(numData));
  callArgs.push_back(entry->getArguments().back());
  auto call = b.create<CallOp>(loc, grad.getResultTypes(), grad.getSymName(), callArgs);
  auto h = [&](StringRef n) {
    return entry->getArgument(numData + (llvm::find(hparams, n) - hparams.begin()));
  };

  // Read everything, then write: reads never see a step's own writes. The
  // writes are, per parameter, its new value then its slots'.
  size_t perParam = 1 + slots.size();
  SmallVector<std::pair<StringAttr, Value>> writes;
  for (auto [i, ref] : llvm::enumerate(params)) {
    auto sym = cast<FlatSymbolRefAttr>(ref);
    Type type = grad.getResultTypes()[i + 1];
    Value p = b.create<ParamRefOp>(loc, type, sym);
    Value g = call.getResult(i + 1);
    SmallVector<Value> state;
    for (ParamOp slot : slotOps[i])
      state.push_back(b.create<ParamRefOp>(loc, type, slot.getSymName()));
    if (adam) {
      auto up = b.create<AdamUpdateOp>(loc, TypeRange{type, type, type}, p, g,
                                       state[0], state[1], h("t"), h("lr"),
                                       h("beta1"), h("beta2"), h("eps"));
      writes.push_back({sym.getAttr(), up.getNewParam()});
      writes.push_back({slotOps[i][0].getSymNameAttr(), up.getNewM()});
      writes.push_back({slotOps[i][1].getSymNameAttr(), up.getNewV()});
    } else {
      auto up = b.create<SgdUpdateOp>(loc, TypeRange{type, type}, p, g, state[0],
                                      h("lr"), h("momentum"));
      writes.push_back({sym.getAttr(), up.getNewParam()});
      writes.push_back({slotOps[i][0].getSymNameAttr(), up.getNewBuf()});
    }
  }
  // Weight clipping: each new parameter clamped to [-c, c], written as
  // p - relu(p - c) + relu(-c - p) (no gradient flows through an update).
  if (auto clip = opt.getHparams().getAs<FloatAttr>("clip")) {
    GMBuilder g(b, loc);
    double c = clip.getValueAsDouble();
    for (auto [i, ref] : llvm::enumerate(params)) {
      Value &p = writes[i * perParam].second;
      Value hi = g.fill(c, p), lo = g.fill(-c, p);
      p = g.add(g.sub(p, b.create<ReluOp>(loc, g.sub(p, hi))),
                b.create<ReluOp>(loc, g.sub(lo, p)));
    }
  }
  for (auto [sym, value] : writes)
    b.create<AssignOp>(loc, FlatSymbolRefAttr::get(sym), value);
  b.create<ReturnOp>(loc, ValueRange{call.getResult(0)});
  return success();
}

} // namespace
