//===- InferenceMode.cpp - batch norm with running statistics at inference ===//
//
// Functions that do not train (every role but loss, gradient and train:
// sampling, decoding, encoding, scoring, evaluation) normalise with a batch
// norm's running statistics instead of the batch's, as PyTorch's eval mode
// does, so an image or a score does not depend on what else is in its
// batch (a batch of one would otherwise normalise to beta). Every net such
// a function calls, directly or through other nets, that holds a batch norm
// gets an inference copy, @<net>.inference, the calls go to it, and each
// gm.batch_norm in it is written in primitives, per channel:
//
//   scale = gamma / sqrt(running_var + eps)
//   y     = x * scale + (beta - running_mean * scale)
//
// The nets themselves keep training mode, for the losses.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMINFERENCEMODEPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

bool trains(FuncRole role) {
  return role == FuncRole::loss || role == FuncRole::gradient || role == FuncRole::train;
}

/// Replaces |bn| by its inference form.
void writeInference(BatchNormOp bn) {
  OpBuilder b(bn);
  Location loc = bn.getLoc();
  GMBuilder g(b, loc);
  Value x = bn.getInput(), var = bn.getRunningVar();
  SmallVector<int64_t> axes = GMBuilder::channelReduceAxes(x);
  Value inv = g.div(g.fill(1.0, var),
                    b.create<SqrtOp>(loc, g.add(var, g.fill(bn.getEps().convertToDouble(), var))));
  Value scale = g.mul(bn.getGamma(), inv);
  Value shift = g.sub(bn.getBeta(), g.mul(bn.getRunningMean(), scale));
  bn.replaceAllUsesWith(g.add(g.mul(x, g.expand(scale, axes, x)), g.expand(shift, axes, x)));
  bn.erase();
}

struct InferenceMode : public mlir::gm::impl::GMInferenceModePassBase<InferenceMode> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>()) {
      SymbolTable symbols(model);
      forms.clear();
      SmallVector<FuncOp> fns;
      for (FuncOp fn : model.getBlock().getOps<FuncOp>())
        if (!trains(fn.getRole()))
          fns.push_back(fn);
      for (FuncOp fn : fns)
        if (failed(rewrite(fn, symbols)))
          return signalPassFailure();
    }
  }

  /// Redirects the net calls in |op| to their inference forms and rewrites
  /// its own batch norms.
  LogicalResult rewrite(Operation *op, SymbolTable &symbols) {
    SmallVector<CallOp> calls;
    SmallVector<BatchNormOp> norms;
    op->walk([&](Operation *inner) {
      if (auto c = dyn_cast<CallOp>(inner))
        calls.push_back(c);
      else if (auto bn = dyn_cast<BatchNormOp>(inner))
        norms.push_back(bn);
    });
    for (CallOp call : calls) {
      auto net = symbols.lookup<NetOp>(call.getCallee());
      if (!net)
        continue;
      FailureOr<NetOp> form = inferenceForm(net, symbols);
      if (failed(form))
        return failure();
      if (*form != net)
        call.setCalleeAttr(FlatSymbolRefAttr::get((*form).getSymNameAttr()));
    }
    for (BatchNormOp bn : norms)
      writeInference(bn);
    return success();
  }

  /// |net| itself when neither it nor a net it calls holds a batch norm;
  /// otherwise its inference copy, made once.
  FailureOr<NetOp> inferenceForm(NetOp net, SymbolTable &symbols) {
    if (auto it = forms.find(net); it != forms.end()) {
      if (!it->second)
        return net.emitOpError() << "calls itself";
      return it->second;
    }
    forms[net] = NetOp(); // in progress
    bool needs = false;
    WalkResult walk = net.walk([&](Operation *op) {
      if (isa<BatchNormOp>(op))
        needs = true;
      else if (auto call = dyn_cast<CallOp>(op))
        if (auto callee = symbols.lookup<NetOp>(call.getCallee())) {
          FailureOr<NetOp> form = inferenceForm(callee, symbols);
          if (failed(form))
            return WalkResult::interrupt();
          needs |= *form != callee;
        }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    if (!needs)
      return forms[net] = net;
    OpBuilder b(net);
    b.setInsertionPointAfter(net);
    auto copy = cast<NetOp>(b.clone(*net));
    copy.setSymName((net.getSymName() + ".inference").str());
    symbols.insert(copy); // renamed if the name is taken
    forms[net] = copy;
    if (failed(rewrite(copy, symbols)))
      return failure();
    return copy;
  }

  llvm::DenseMap<Operation *, NetOp> forms;
};

} // namespace
