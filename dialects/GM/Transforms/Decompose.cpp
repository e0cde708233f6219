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

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
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
///
/// The rows after the first are an scf.for over r whose body is one row's
/// ops (reading and writing row r of (R, B, ., 1, W) stacks), not R copies
/// of them: PixelRNN's 28 rows, unrolled forward and backward in every entry,
/// were most of its compile time (a training entry of 50k lines of LLVM
/// dialect). Row 0, which has no previous row, stays outside the loop, so
/// each row does exactly the unrolled version's work.
struct RowLSTMParts {
  PatternRewriter &rw;
  GMBuilder g;
  Location loc;
  int64_t hid, rows, cols, k;
  Value batch; // B, from x
  RankedTensorType stateRow, gatesRow, gatesAll, states;

  RowLSTMParts(PatternRewriter &rw, Location loc, Value x, Value wis)
      : rw(rw), g(rw, loc), loc(loc) {
    RankedTensorType xt = tensorType(x), wt = tensorType(wis);
    hid = wt.getDimSize(0) / 4;
    rows = xt.getDimSize(2);
    cols = xt.getDimSize(3);
    k = wt.getDimSize(3);
    batch = rw.create<tensor::DimOp>(loc, x, 0);
    stateRow = g.f32Type({ShapedType::kDynamic, hid, 1, cols});
    gatesRow = g.f32Type({ShapedType::kDynamic, 4 * hid, 1, cols});
    gatesAll = g.f32Type({ShapedType::kDynamic, 4 * hid, rows, cols});
    states = g.f32Type({ShapedType::kDynamic, hid, rows, cols});
  }
  DenseI64ArrayAttr one() { return rw.getDenseI64ArrayAttr({1, 1}); }
  DenseI64ArrayAttr pad() { return rw.getDenseI64ArrayAttr({0, k / 2}); }
  DenseI64ArrayAttr zero() { return rw.getDenseI64ArrayAttr({0, 0}); }
  Value index(int64_t v) { return rw.create<arith::ConstantIndexOp>(loc, v); }
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

  /// Stacks of rows are (R, B, channels, 1, W), row-major by row, so each
  /// row the loops read or write is one contiguous block (rows of a (B,
  /// channels, R, W) image are 1 / R of every channel plane: a row stack in
  /// that layout made PixelRNN's step 20% slower, its cell kernels waiting
  /// on the scattered loads). unstack turns a stack into the image layout.
  RankedTensorType stackOf(RankedTensorType row) {
    return g.f32Type({rows, ShapedType::kDynamic, row.getDimSize(1), 1, cols});
  }
  /// An uninitialised stack of |row|s: an allocation of its own (a
  /// tensor.empty would be merged with the other stacks' by CSE, and
  /// bufferization would then copy whole stacks apart).
  Value stack(RankedTensorType row) {
    return rw.create<bufferization::AllocTensorOp>(loc, stackOf(row), ValueRange{batch});
  }
  SmallVector<OpFoldResult> stackOffsets(Value r) {
    SmallVector<OpFoldResult> offsets(5, rw.getIndexAttr(0));
    offsets[0] = r;
    return offsets;
  }
  SmallVector<OpFoldResult> stackSizes(Value stack) {
    return {rw.getIndexAttr(1), batch, rw.getIndexAttr(tensorType(stack).getDimSize(2)),
            rw.getIndexAttr(1), rw.getIndexAttr(cols)};
  }
  SmallVector<OpFoldResult> ones(int64_t rank) {
    return SmallVector<OpFoldResult>(rank, rw.getIndexAttr(1));
  }
  /// Row |r| of a stack, as (B, channels, 1, W).
  Value rowOf(Value stack, Value r, RankedTensorType t) {
    return rw.create<tensor::ExtractSliceOp>(loc, t, stack, stackOffsets(r), stackSizes(stack),
                                             ones(5));
  }
  Value putRow(Value row, Value stack, Value r) {
    return rw.create<tensor::InsertSliceOp>(loc, row, stack, stackOffsets(r), stackSizes(stack),
                                            ones(5));
  }
  /// Row |r| of a (B, channels, R, W) image, as (B, channels, 1, W).
  Value imageRow(Value image, Value r, RankedTensorType t) {
    SmallVector<OpFoldResult> offsets = {rw.getIndexAttr(0), rw.getIndexAttr(0), r,
                                         rw.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {batch, rw.getIndexAttr(t.getDimSize(1)),
                                       rw.getIndexAttr(1), rw.getIndexAttr(cols)};
    return rw.create<tensor::ExtractSliceOp>(loc, t, image, offsets, sizes, ones(4));
  }
  /// A stack (R, B, C, 1, W) as the image (B, C, R, W).
  Value unstack(Value stack, RankedTensorType image) {
    int64_t channels = image.getDimSize(1);
    Value flat = rw.create<tensor::CollapseShapeOp>(
        loc, g.f32Type({rows, ShapedType::kDynamic, channels, cols}), stack,
        ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
    return g.transpose(flat, {1, 2, 0, 3});
  }

  /// One row's cell: the gates' functions, c = f c_prev + i g (i g without
  /// a previous row) and h = o tanh(c).
  struct Row {
    Value i, f, gg, o, c, h;
  };
  Row cell(Value gates, Value cPrev) {
    Row row;
    row.i = rw.create<SigmoidOp>(loc, gate(gates, 0));
    row.f = rw.create<SigmoidOp>(loc, gate(gates, 1));
    row.gg = rw.create<TanhOp>(loc, gate(gates, 2));
    row.o = rw.create<SigmoidOp>(loc, gate(gates, 3));
    row.c = g.mul(row.i, row.gg);
    if (cPrev)
      row.c = g.add(g.mul(row.f, cPrev), row.c);
    row.h = g.mul(row.o, rw.create<TanhOp>(loc, row.c));
    return row;
  }

  /// The forward pass: the stacks of h and c and, with |all| (what the
  /// backward pass reads), of i, f, g and o, in that order. The loop
  /// carries only the stacks, each written in place, and reads h_{r-1} and
  /// c_{r-1} back from them: every buffer it touches is then one of the
  /// entry's own, which gm-outline-kernels needs to move the row's ops into
  /// kernels, and bufferization needs to keep the loop free of copies.
  SmallVector<Value> forward(Value x, Value wis, Value wss, Value bias, bool all) {
    // Input-to-state for every row at once: conv1xK(x, w_is * mask B) + b.
    Value gx = rw.create<Conv2DOp>(loc, gatesAll, x, maskedWIs(wis), bias, one(), pad());
    Row first = cell(slice(gx, gatesRow, 2, 0, 1), Value());
    auto values = [&](const Row &row) {
      return all ? SmallVector<Value>{row.h, row.c, row.i, row.f, row.gg, row.o}
                 : SmallVector<Value>{row.h, row.c};
    };
    Value r0 = index(0);
    SmallVector<Value> inits;
    for (Value v : values(first))
      inits.push_back(putRow(v, stack(stateRow), r0));
    auto loop = rw.create<scf::ForOp>(loc, index(1), index(rows), index(1), inits);
    OpBuilder::InsertionGuard guard(rw);
    rw.setInsertionPointToStart(loop.getBody());
    Value r = loop.getInductionVar();
    Value rPrev = rw.create<arith::SubIOp>(loc, r, index(1));
    ValueRange stacks = loop.getRegionIterArgs();
    Value gates =
        g.add(imageRow(gx, r, gatesRow), stateToState(rowOf(stacks[0], rPrev, stateRow), wss));
    Row row = cell(gates, rowOf(stacks[1], rPrev, stateRow));
    SmallVector<Value> next;
    for (auto [v, s] : llvm::zip(values(row), stacks))
      next.push_back(putRow(v, s, r));
    rw.create<scf::YieldOp>(loc, next);
    return SmallVector<Value>(loop.getResults());
  }
};

// A training entry computes a Row LSTM's rows for its loss (row_lstm) and
// again for the gradient (row_lstm_grad of the same operands). Unrolled,
// CSE merged the two; as loops it does not (their stacks are separate
// allocations), so the gradient's decomposition builds the rows once, where
// the row_lstm was, and both read them.
bool sameOperands(RowLSTMOp fwd, RowLSTMGradOp grad) {
  return fwd.getInput() == grad.getInput() && fwd.getWIs() == grad.getWIs() &&
         fwd.getWSs() == grad.getWSs() && fwd.getBias() == grad.getBias() &&
         fwd->getBlock() == grad->getBlock() && fwd->isBeforeInBlock(grad);
}
RowLSTMOp forwardTwin(RowLSTMGradOp grad) {
  for (Operation *user : grad.getInput().getUsers())
    if (auto fwd = dyn_cast<RowLSTMOp>(user); fwd && sameOperands(fwd, grad))
      return fwd;
  return {};
}
RowLSTMGradOp gradientTwin(RowLSTMOp fwd) {
  for (Operation *user : fwd.getInput().getUsers())
    if (auto grad = dyn_cast<RowLSTMGradOp>(user); grad && sameOperands(fwd, grad))
      return grad;
  return {};
}

// row_lstm(x) = the rows of states h_r, r = 0 .. R-1, with
// gates_r = conv1xK(x, w_is * mask B)[:, :, r] + b + conv1xK(h_{r-1}, w_ss),
// c_r = sigmoid(f) c_{r-1} + sigmoid(i) tanh(g), h_r = sigmoid(o) tanh(c_r),
// and h_{-1} = c_{-1} = 0: one convolution for the input, then R - 1 small
// ones, in a loop over the rows.
struct RowLSTMToCore : OpRewritePattern<RowLSTMOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RowLSTMOp op, PatternRewriter &rw) const override {
    if (gradientTwin(op))
      return failure(); // RowLSTMGradToCore builds the rows for both
    RowLSTMParts p(rw, op.getLoc(), op.getInput(), op.getWIs());
    Value hs = p.forward(op.getInput(), op.getWIs(), op.getWSs(), op.getBias(), false)[0];
    rw.replaceOp(op, p.unstack(hs, p.states));
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
// w_is * mask B). Rows R-1 .. 1 are a loop (row R-1 receives zeros from
// beyond the last row, added exactly); row 0, without a previous row,
// follows it.
struct RowLSTMGradToCore : OpRewritePattern<RowLSTMGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RowLSTMGradOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), wis = op.getWIs(), wss = op.getWSs();
    RowLSTMOp twin = forwardTwin(op);
    if (twin)
      rw.setInsertionPoint(twin);
    RowLSTMParts p(rw, loc, x, wis);
    GMBuilder &g = p.g;
    // hs, cs, is, fs, ggs, os.
    SmallVector<Value> fwd = p.forward(x, wis, wss, op.getBias(), true);
    if (twin) {
      rw.replaceOp(twin, p.unstack(fwd[0], p.states));
      rw.setInsertionPoint(op);
    }
    auto oneMinus = [&](Value v) { return g.sub(g.fill(1.0, v), v); };
    auto at = [&](int which, Value r) { return p.rowOf(fwd[which], r, p.stateRow); };
    // Row r's gate gradients from dh and dc sent back from row r + 1;
    // returns (dgates_r, dc_r f_r), and c_{r-1} comes from |rPrev| (none
    // at row 0).
    auto back = [&](Value r, Value rPrev, Value dhBack, Value dcBack) {
      Value c = at(1, r), i = at(2, r), f = at(3, r), gg = at(4, r), o = at(5, r);
      Value dh = g.add(p.imageRow(op.getGrad(), r, p.stateRow), dhBack);
      Value tc = rw.create<TanhOp>(loc, c);
      Value dc = g.add(g.mul(g.mul(dh, o), oneMinus(g.mul(tc, tc))), dcBack);
      Value di = g.mul(g.mul(dc, gg), g.mul(i, oneMinus(i)));
      Value df = rPrev ? g.mul(g.mul(dc, at(1, rPrev)), g.mul(f, oneMinus(f))) : g.fill(0.0, f);
      Value dg = g.mul(g.mul(dc, i), oneMinus(g.mul(gg, gg)));
      Value dout = g.mul(g.mul(dh, tc), g.mul(o, oneMinus(o)));
      Value dgates = rw.create<ConcatOp>(loc, p.gatesRow, ValueRange{di, df, dg, dout},
                                         rw.getI64IntegerAttr(1));
      return std::make_pair(dgates, g.mul(dc, f));
    };
    // Rows R-1 .. 1, k = 0 .. R-2 and r = R-1-k, carrying stacks written in
    // place: row r of dhs and dcs holds what row r + 1 sends back to r (zero
    // for the last row), slot k of dws row r's part of dw_ss (summed after
    // the loop in k order: the unrolled sum's order), and the dgates.
    Value zeros = g.broadcastTo(g.scalar(0.0), p.stateRow, x);
    Value last = p.index(p.rows - 1), r0 = p.index(0);
    RankedTensorType wsst = tensorType(wss);
    SmallVector<int64_t> dwsShape = {p.rows - 1};
    dwsShape.append(wsst.getShape().begin(), wsst.getShape().end());
    Value dws = rw.create<bufferization::AllocTensorOp>(
        loc, RankedTensorType::get(dwsShape, wsst.getElementType()), ValueRange{});
    auto loop = rw.create<scf::ForOp>(
        loc, r0, last, p.index(1),
        ValueRange{p.putRow(zeros, p.stack(p.stateRow), last),
                   p.putRow(zeros, p.stack(p.stateRow), last), dws, p.stack(p.gatesRow)});
    {
      OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(loop.getBody());
      ValueRange carried = loop.getRegionIterArgs();
      Value k = loop.getInductionVar();
      Value r = rw.create<arith::SubIOp>(loc, last, k);
      Value rPrev = rw.create<arith::SubIOp>(loc, r, p.index(1));
      auto [dgates, dcBack] =
          back(r, rPrev, p.rowOf(carried[0], r, p.stateRow), p.rowOf(carried[1], r, p.stateRow));
      Value dw = rw.create<Conv2DWeightGradOp>(loc, wsst, at(0, rPrev), dgates, p.one(), p.pad());
      Value dhBack = rw.create<Conv2DTransposeOp>(loc, p.stateRow, dgates, wss, Value(),
                                                  p.one(), p.pad(), p.zero());
      SmallVector<OpFoldResult> slot = {k}, whole = {rw.getIndexAttr(1)};
      for (int64_t d : wsst.getShape()) {
        slot.push_back(rw.getIndexAttr(0));
        whole.push_back(rw.getIndexAttr(d));
      }
      Value dwsNext = rw.create<tensor::InsertSliceOp>(
          loc, dw, carried[2], slot, whole,
          SmallVector<OpFoldResult>(dwsShape.size(), rw.getIndexAttr(1)));
      rw.create<scf::YieldOp>(loc, ValueRange{p.putRow(dhBack, carried[0], rPrev),
                                              p.putRow(dcBack, carried[1], rPrev), dwsNext,
                                              p.putRow(dgates, carried[3], r)});
    }
    Value dgates0 = back(r0, Value(), p.rowOf(loop.getResult(0), r0, p.stateRow),
                         p.rowOf(loop.getResult(1), r0, p.stateRow))
                        .first;
    Value all = p.unstack(p.putRow(dgates0, loop.getResult(3), r0), p.gatesAll);
    Value dwss = p.rows > 1 ? g.sum(loop.getResult(2), {0})
                            : rw.create<ConstantOp>(loc, wsst, DenseElementsAttr::get(wsst, 0.0f))
                                  .getResult();
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
