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
// Row LSTM (PixelRNN)
//===----------------------------------------------------------------------===//

/// What the Row LSTM's forward and backward decompositions share: x (B, C,
/// R, W), w_is (4H, C, 1, K), w_ss (4H, H, 1, K), bias (4H); a row of
/// states is (B, H, 1, W), a row of gates (B, 4H, 1, W) in the order i, f,
/// g, o; every 1 x K convolution has stride 1 and padding (0, K / 2).
struct RowLSTMParts {
  PatternRewriter &rw;
  GMBuilder g;
  Location loc;
  int64_t hid, rows, cols, k;
  RankedTensorType stateRow, gatesRow, gatesAll;

  RowLSTMParts(PatternRewriter &rw, Location loc, Value x, Value wis)
      : rw(rw), g(rw, loc), loc(loc) {
    RankedTensorType xt = tensorType(x), wt = tensorType(wis);
    hid = wt.getDimSize(0) / 4;
    rows = xt.getDimSize(2);
    cols = xt.getDimSize(3);
    k = wt.getDimSize(3);
    stateRow = g.f32Type({ShapedType::kDynamic, hid, 1, cols});
    gatesRow = g.f32Type({ShapedType::kDynamic, 4 * hid, 1, cols});
    gatesAll = g.f32Type({ShapedType::kDynamic, 4 * hid, rows, cols});
  }
  DenseI64ArrayAttr one() { return rw.getDenseI64ArrayAttr({1, 1}); }
  DenseI64ArrayAttr pad() { return rw.getDenseI64ArrayAttr({0, k / 2}); }
  DenseI64ArrayAttr zero() { return rw.getDenseI64ArrayAttr({0, 0}); }
  /// w_is with the mask-B taps only: column j reads input columns <= j.
  Value maskedWIs(Value wis) {
    RankedTensorType wt = tensorType(wis);
    return g.mul(wis, rw.create<ConstantOp>(loc, wt, getConvMask(wt, MaskKind::B)));
  }
  Value slice(Value v, RankedTensorType t, int64_t axis, int64_t start, int64_t size) {
    return rw.create<SliceOp>(loc, t, v, rw.getI64IntegerAttr(axis), rw.getI64IntegerAttr(start),
                              rw.getI64IntegerAttr(size));
  }
  Value gate(Value gates, int64_t which) { return slice(gates, stateRow, 1, which * hid, hid); }
  /// conv1xK(h, w_ss): the previous row's states into this row's gates.
  Value stateToState(Value h, Value wss) {
    return rw.create<Conv2DOp>(loc, gatesRow, h, wss, Value(), one(), pad());
  }

  /// The forward pass, row by row, keeping what the backward pass reads.
  struct Row {
    Value i, f, gg, o, c, h;
  };
  SmallVector<Row> forward(Value x, Value wis, Value wss, Value bias) {
    // Input-to-state for every row at once: conv1xK(x, w_is * mask B) + b.
    Value gx = rw.create<Conv2DOp>(loc, gatesAll, x, maskedWIs(wis), bias, one(), pad());
    SmallVector<Row> out;
    for (int64_t r = 0; r < rows; ++r) {
      Value gates = slice(gx, gatesRow, 2, r, 1);
      if (r > 0)
        gates = g.add(gates, stateToState(out.back().h, wss));
      Row row;
      row.i = rw.create<SigmoidOp>(loc, gate(gates, 0));
      row.f = rw.create<SigmoidOp>(loc, gate(gates, 1));
      row.gg = rw.create<TanhOp>(loc, gate(gates, 2));
      row.o = rw.create<SigmoidOp>(loc, gate(gates, 3));
      row.c = g.mul(row.i, row.gg);
      if (r > 0)
        row.c = g.add(g.mul(row.f, out.back().c), row.c);
      row.h = g.mul(row.o, rw.create<TanhOp>(loc, row.c));
      out.push_back(row);
    }
    return out;
  }
  Value concatRows(ArrayRef<Value> parts, RankedTensorType t) {
    return rw.create<ConcatOp>(loc, t, parts, rw.getI64IntegerAttr(2));
  }
};

// row_lstm(x) = the rows of states h_r, r = 0 .. R-1, with
// gates_r = conv1xK(x, w_is * mask B)[:, :, r] + b + conv1xK(h_{r-1}, w_ss),
// c_r = sigmoid(f) c_{r-1} + sigmoid(i) tanh(g), h_r = sigmoid(o) tanh(c_r),
// and h_{-1} = c_{-1} = 0: one convolution for the input, then R small ones.
struct RowLSTMToCore : OpRewritePattern<RowLSTMOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RowLSTMOp op, PatternRewriter &rw) const override {
    RowLSTMParts p(rw, op.getLoc(), op.getInput(), op.getWIs());
    SmallVector<Value> hs;
    for (const RowLSTMParts::Row &row :
         p.forward(op.getInput(), op.getWIs(), op.getWSs(), op.getBias()))
      hs.push_back(row.h);
    rw.replaceOp(op, p.concatRows(hs, op.getType()));
    return success();
  }
};

// row_lstm_grad: the forward rows again, then back-propagation through the
// rows, r = R-1 .. 0, with dh_r = G[:, :, r] + (what row r + 1's gates send
// back through w_ss) and dc_r = dh_r o (1 - tanh^2 c_r) + dc_{r+1} f_{r+1}:
//   dgates_r = (dc g i (1 - i), dc c_{r-1} f (1 - f), dc i (1 - g^2),
//               dh tanh(c) o (1 - o)),
//   dw_ss = sum_r conv_weight_grad(h_{r-1}, dgates_r);
// then for all rows at once, with dgates (B, 4H, R, W): db = sum dgates,
// dw_is = conv_weight_grad(x, dgates) * mask B, dx = conv_transpose(dgates,
// w_is * mask B).
struct RowLSTMGradToCore : OpRewritePattern<RowLSTMGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RowLSTMGradOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), wis = op.getWIs(), wss = op.getWSs();
    RowLSTMParts p(rw, loc, x, wis);
    GMBuilder &g = p.g;
    SmallVector<RowLSTMParts::Row> fwd = p.forward(x, wis, wss, op.getBias());
    auto oneMinus = [&](Value v) { return g.sub(g.fill(1.0, v), v); };
    SmallVector<Value> dgates(p.rows);
    Value dwss, dhBack, dcBack;
    for (int64_t r = p.rows - 1; r >= 0; --r) {
      const RowLSTMParts::Row &row = fwd[r];
      Value dh = p.slice(op.getGrad(), p.stateRow, 2, r, 1);
      if (dhBack)
        dh = g.add(dh, dhBack);
      Value tc = rw.create<TanhOp>(loc, row.c);
      Value dc = g.mul(g.mul(dh, row.o), oneMinus(g.mul(tc, tc)));
      if (dcBack)
        dc = g.add(dc, dcBack);
      Value di = g.mul(g.mul(dc, row.gg), g.mul(row.i, oneMinus(row.i)));
      Value df = r > 0 ? g.mul(g.mul(dc, fwd[r - 1].c), g.mul(row.f, oneMinus(row.f)))
                       : g.fill(0.0, row.f);
      Value dg = g.mul(g.mul(dc, row.i), oneMinus(g.mul(row.gg, row.gg)));
      Value dout = g.mul(g.mul(dh, tc), g.mul(row.o, oneMinus(row.o)));
      dgates[r] = rw.create<ConcatOp>(loc, p.gatesRow, ValueRange{di, df, dg, dout},
                                      rw.getI64IntegerAttr(1));
      dcBack = g.mul(dc, row.f);
      if (r > 0) {
        Value dw = rw.create<Conv2DWeightGradOp>(loc, tensorType(wss), fwd[r - 1].h, dgates[r],
                                                 p.one(), p.pad());
        dwss = dwss ? g.add(dwss, dw) : dw;
        dhBack = rw.create<Conv2DTransposeOp>(loc, p.stateRow, dgates[r], wss, Value(), p.one(),
                                              p.pad(), p.zero());
      }
    }
    if (!dwss)
      dwss = g.b.create<ConstantOp>(loc, tensorType(wss),
                                    DenseElementsAttr::get(tensorType(wss), 0.0f));
    Value all = p.concatRows(dgates, p.gatesAll);
    RankedTensorType wt = tensorType(wis);
    Value mask = rw.create<ConstantOp>(loc, wt, getConvMask(wt, MaskKind::B));
    Value dwis = g.mul(rw.create<Conv2DWeightGradOp>(loc, wt, x, all, p.one(), p.pad()), mask);
    Value dx = rw.create<Conv2DTransposeOp>(loc, tensorType(x), all, g.mul(wis, mask), Value(),
                                            p.one(), p.pad(), p.zero());
    rw.replaceOp(op, {dx, dwis, dwss, g.sum(all, {0, 2, 3})});
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
  patterns.add<MaskedLinearToLinear, MaskedConvToConv, LSTMCellToCore, RowLSTMToCore,
               RowLSTMGradToCore, EmbeddingToCore, EmbeddingGradToCore, ReconLossToCore,
               FadeToCore, DropStopGradient>(
      patterns.getContext());
}
