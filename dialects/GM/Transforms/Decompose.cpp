//===- Decompose.cpp - composite gm ops into the core ---------------------===//
//
// Rewrites every composite op into the core ops that code generation lowers
// (one pattern per op, each under its identity). Runs after the training
// pipeline, at the head of code generation: autodiff has used the
// composites' own gradient rules, and the reference evaluator keeps running
// the composites themselves, so every decomposition is checked against an
// independent implementation (test/CodeGen/conformance.test).
//
// Shape legend: B batch, T tokens, V vocabulary, E embedding width, H hidden
// units, IN/OUT features.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMDECOMPOSEPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

//===----------------------------------------------------------------------===//
// Masked layers
//===----------------------------------------------------------------------===//

// masked_linear(x, W, b, M) = linear(x, W * M, b).
struct MaskedLinearToLinear : OpRewritePattern<MaskedLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MaskedLinearOp op, PatternRewriter &rw) const override {
    GMBuilder g(rw, op.getLoc());
    RankedTensorType wt = tensorType(op.getWeight());
    Value mask = rw.create<ConstantOp>(op.getLoc(), wt, getLinearMask(wt, op.getMask()));
    rw.replaceOpWithNewOp<LinearOp>(op, op.getType(), op.getInput(),
                                    g.mul(op.getWeight(), mask), op.getBias());
    return success();
  }
};

// masked_conv2d(x, W, b, M) = conv2d(x, W * M, b), stride 1, padding
// (KH - 1) / 2, (KW - 1) / 2.
struct MaskedConvToConv : OpRewritePattern<MaskedConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MaskedConv2DOp op, PatternRewriter &rw) const override {
    GMBuilder g(rw, op.getLoc());
    RankedTensorType wt = tensorType(op.getWeight());
    Value mask = rw.create<ConstantOp>(op.getLoc(), wt, getConvMask(wt, op.getMask()));
    rw.replaceOpWithNewOp<Conv2DOp>(
        op, op.getType(), op.getInput(), g.mul(op.getWeight(), mask), op.getBias(),
        rw.getDenseI64ArrayAttr({1, 1}),
        rw.getDenseI64ArrayAttr({(wt.getDimSize(2) - 1) / 2, (wt.getDimSize(3) - 1) / 2}));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// LSTM cell
//===----------------------------------------------------------------------===//

// gates = x W_ih^T + b + h W_hh^T, (B, 4H), in PyTorch's order i, f, g, o;
// c' = sigmoid(f) c + sigmoid(i) tanh(g); h' = sigmoid(o) tanh(c').
struct LSTMCellToCore : OpRewritePattern<LSTMCellOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LSTMCellOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    GMBuilder g(rw, loc);
    RankedTensorType state = tensorType(op.getH());
    int64_t hid = state.getDimSize(1);
    auto gatesType = RankedTensorType::get({ShapedType::kDynamic, 4 * hid}, rw.getF32Type());
    Value gates = g.add(rw.create<LinearOp>(loc, gatesType, op.getInput(), op.getWIh(), op.getBias()),
                        rw.create<LinearOp>(loc, gatesType, op.getH(), op.getWHh(), Value()));
    auto gate = [&](int64_t k) -> Value {
      return rw.create<SliceOp>(loc, state, gates, rw.getI64IntegerAttr(1),
                                rw.getI64IntegerAttr(k * hid), rw.getI64IntegerAttr(hid));
    };
    Value i = rw.create<SigmoidOp>(loc, gate(0)), f = rw.create<SigmoidOp>(loc, gate(1));
    Value c = rw.create<TanhOp>(loc, gate(2)), o = rw.create<SigmoidOp>(loc, gate(3));
    Value cNext = g.add(g.mul(f, op.getC()), g.mul(i, c));
    Value hNext = g.mul(o, rw.create<TanhOp>(loc, cNext));
    rw.replaceOp(op, {hNext, cNext});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Embedding lookups
//===----------------------------------------------------------------------===//

/// one_hot(ids) (B, T, V) as (B, T, V, 1) broadcast to |target| (B, T, V, E).
Value spreadOneHot(GMBuilder &g, Value ids, int64_t vocab, RankedTensorType target) {
  RankedTensorType it = tensorType(ids);
  auto oneHot = g.b.create<OneHotOp>(
      g.loc, g.f32Type({ShapedType::kDynamic, it.getDimSize(1), vocab}), ids,
      g.b.getI64IntegerAttr(vocab));
  Value column = g.reshape(oneHot, g.f32Type({ShapedType::kDynamic, it.getDimSize(1), vocab, 1}));
  return g.broadcastTo(column, target, ids);
}

// embedding(ids, E)[b, t] = sum_v one_hot(ids)[b, t, v] E[v]: (B, T, V, E)
// products summed over V. Vocabularies here are small (captions, labels);
// a gather would be the kernel for large ones.
struct EmbeddingToCore : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op, PatternRewriter &rw) const override {
    GMBuilder g(rw, op.getLoc());
    RankedTensorType table = tensorType(op.getTable());
    int64_t vocab = table.getDimSize(0), width = table.getDimSize(1);
    int64_t tokens = tensorType(op.getIds()).getDimSize(1);
    auto wide = g.f32Type({ShapedType::kDynamic, tokens, vocab, width});
    Value oneHot = spreadOneHot(g, op.getIds(), vocab, wide);
    Value rows = g.broadcastTo(op.getTable(), wide, op.getIds());
    rw.replaceOp(op, g.sum(g.mul(oneHot, rows), {2}));
    return success();
  }
};

// embedding_grad(ids, G)[v] = sum_{b, t} one_hot(ids)[b, t, v] G[b, t]: the
// same (B, T, V, E) products summed over B and T.
struct EmbeddingGradToCore : OpRewritePattern<EmbeddingGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingGradOp op, PatternRewriter &rw) const override {
    GMBuilder g(rw, op.getLoc());
    RankedTensorType out = op.getType();
    int64_t vocab = out.getDimSize(0), width = out.getDimSize(1);
    int64_t tokens = tensorType(op.getIds()).getDimSize(1);
    auto wide = g.f32Type({ShapedType::kDynamic, tokens, vocab, width});
    Value oneHot = spreadOneHot(g, op.getIds(), vocab, wide);
    Value grad = g.broadcastTo(
        g.reshape(op.getGrad(), g.f32Type({ShapedType::kDynamic, tokens, 1, width})), wide,
        op.getIds());
    rw.replaceOp(op, g.sum(g.mul(oneHot, grad), {0, 1}));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Losses and blends
//===----------------------------------------------------------------------===//

// mse = sum (p - t)^2; l1 = sum |p - t|; bce_logits = sum softplus(p) - t p;
// softmax_xent = -sum t log_softmax(p) over the last axis; each summed over
// every axis but the batch.
struct ReconLossToCore : OpRewritePattern<ReconLossOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReconLossOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    GMBuilder g(rw, loc);
    Value p = op.getPrediction(), t = op.getTarget();
    Value error;
    switch (op.getKind()) {
    case LossKind::mse: {
      Value d = g.sub(p, t);
      error = g.mul(d, d);
      break;
    }
    case LossKind::l1:
      error = rw.create<AbsOp>(loc, g.sub(p, t));
      break;
    case LossKind::bce_logits:
      error = g.sub(rw.create<SoftplusOp>(loc, p), g.mul(t, p));
      break;
    case LossKind::softmax_xent:
      error = g.neg(g.mul(t, g.logSoftmaxLast(p)));
      break;
    }
    rw.replaceOp(op, g.sumExample(error));
    return success();
  }
};

// fade(lo, hi, a) = lo + a (hi - lo).
struct FadeToCore : OpRewritePattern<FadeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FadeOp op, PatternRewriter &rw) const override {
    GMBuilder g(rw, op.getLoc());
    Value lo = op.getLow();
    Value alpha = g.broadcastTo(op.getAlpha(), tensorType(lo), lo);
    rw.replaceOp(op, g.add(lo, g.mul(alpha, g.sub(op.getHigh(), lo))));
    return success();
  }
};

// stop_gradient(x) = x: it only ever mattered to autodiff.
struct DropStopGradient : OpRewritePattern<StopGradientOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StopGradientOp op, PatternRewriter &rw) const override {
    rw.replaceOp(op, op.getInput());
    return success();
  }
};

struct Decompose : public mlir::gm::impl::GMDecomposePassBase<Decompose> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposePatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::gm::populateDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<MaskedLinearToLinear, MaskedConvToConv, LSTMCellToCore, EmbeddingToCore,
               EmbeddingGradToCore, ReconLossToCore, FadeToCore, DropStopGradient>(
      patterns.getContext());
}
