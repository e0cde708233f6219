//===- GMGradients.cpp - the gradient rules of the gm ops -----------------===//
//
// Each differentiable op's vector-Jacobian product, built in gm IR
// (DifferentiableOpInterface::buildVJP); gm-autodiff calls them. Every rule
// is checked against finite differences in extended precision
// (gmc check-grad, test/Gradients).
//
// Shape legend: B = batch (dynamic, leading), D = features, H = hidden,
// C = channels, K = classes or components.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/IR/GMOps.h"

#include "dialects/GM/IR/GMBuilder.h"
#include "dialects/GM/IR/OpHelpers.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::gm;
using namespace mlir::gm::ophelpers;

//===----------------------------------------------------------------------===//
// Gradient rules (DifferentiableOpInterface)
//
// Each rule builds the vector-Jacobian product of its op in gm IR. `g` is
// the adjoint of the result; a null result adjoint means zero, and then the
// op contributes nothing (the autodiff pass does not call the rule).
//===----------------------------------------------------------------------===//

/// The rules build with the shared helpers (GMBuilder.h).
using Grad = GMBuilder;

#define GM_SIMPLE_VJP(OpT, BODY)                                               \
  LogicalResult OpT::buildVJP(OpBuilder &b, ArrayRef<Value> adj,               \
                              SmallVectorImpl<Value> &out) {                   \
    Grad G(b, getLoc());                                                       \
    Value g = adj[0];                                                          \
    (void)G;                                                                   \
    BODY;                                                                      \
    return success();                                                          \
  }

// d(a + b) = (g, g); d(a - b) = (g, -g); d(a b) = (g b, g a);
// d(a / b) = (g / b, -g a / b^2).
GM_SIMPLE_VJP(AddOp, out.append({g, g}))
GM_SIMPLE_VJP(SubOp, out.append({g, G.neg(g)}))
GM_SIMPLE_VJP(MulOp, out.append({G.mul(g, getRhs()), G.mul(g, getLhs())}))
GM_SIMPLE_VJP(DivOp, out.append({G.div(g, getRhs()),
                                 G.neg(G.div(G.mul(g, getResult()), getRhs()))}))
GM_SIMPLE_VJP(NegOp, out.push_back(G.neg(g)))
// exp' = exp; log' = 1 / x; sqrt' = 1 / (2 sqrt); (x^2)' = 2x; |x|' = sign x.
GM_SIMPLE_VJP(ExpOp, out.push_back(G.mul(g, getResult())))
GM_SIMPLE_VJP(LogOp, out.push_back(G.div(g, getInput())))
GM_SIMPLE_VJP(SqrtOp, out.push_back(G.div(G.scale(g, 0.5), getResult())))
GM_SIMPLE_VJP(SquareOp, out.push_back(G.scale(G.mul(g, getInput()), 2.0)))
GM_SIMPLE_VJP(AbsOp, out.push_back(G.mul(g, b.create<SignOp>(getLoc(), getInput()))))
// tanh' = 1 - y^2; sigmoid' = y (1 - y); softplus' = sigmoid;
// log_sigmoid' = sigmoid(-x) = 1 - sigmoid(x).
GM_SIMPLE_VJP(TanhOp, out.push_back(G.mul(g, G.sub(G.fill(1, g),
                                                   G.mul(getResult(), getResult())))))
GM_SIMPLE_VJP(SigmoidOp, out.push_back(G.mul(g, G.mul(getResult(),
                                        G.sub(G.fill(1, g), getResult())))))
GM_SIMPLE_VJP(SoftplusOp, out.push_back(G.mul(g, b.create<SigmoidOp>(getLoc(), getInput()))))
GM_SIMPLE_VJP(LogSigmoidOp,
              out.push_back(G.mul(g, G.sub(G.fill(1, g),
                                           b.create<SigmoidOp>(getLoc(), getInput())))))
// relu' = [x > 0] = sign(relu(x)); the kink at 0 gets 0.
GM_SIMPLE_VJP(ReluOp, out.push_back(G.mul(g, b.create<SignOp>(getLoc(), getResult()))))
// sign and stop_gradient pass nothing back.
LogicalResult SignOp::buildVJP(OpBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &out) {
  out.push_back(Value());
  return success();
}
LogicalResult StopGradientOp::buildVJP(OpBuilder &, ArrayRef<Value>,
                                       SmallVectorImpl<Value> &out) {
  out.push_back(Value());
  return success();
}

LogicalResult LeakyReluOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // alpha + (1 - alpha) [x > 0], with [x > 0] = sign(relu(x)).
  Grad G(b, getLoc());
  double a = getAlpha().convertToDouble();
  Value positive = b.create<SignOp>(getLoc(), b.create<ReluOp>(getLoc(), getInput()));
  Value slope = G.add(G.fill(a, positive), G.scale(positive, 1 - a));
  out.push_back(G.mul(adj[0], slope));
  return success();
}

LogicalResult EluOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                              SmallVectorImpl<Value> &out) {
  // 1 for x > 0, else alpha exp(x) = y + alpha: p + (1 - p)(y + alpha) with
  // p = [x > 0] = sign(relu(x)).
  Grad G(b, getLoc());
  double a = getAlpha().convertToDouble();
  Value y = getResult();
  Value positive = b.create<SignOp>(getLoc(), b.create<ReluOp>(getLoc(), getInput()));
  Value negative = G.sub(G.fill(1, positive), positive);
  Value slope = G.add(positive, G.mul(negative, G.add(y, G.fill(a, y))));
  out.push_back(G.mul(adj[0], slope));
  return success();
}

LogicalResult SoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  // dx = y (g - sum_axis(g y)).
  Grad G(b, getLoc());
  Value y = getResult(), g = adj[0];
  int64_t axis = getAxis();
  Value s = G.expand(G.sum(G.mul(g, y), {axis}), {axis}, y);
  out.push_back(G.mul(y, G.sub(g, s)));
  return success();
}

LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                     SmallVectorImpl<Value> &out) {
  // dx = g - exp(y) sum_axis(g).
  Grad G(b, getLoc());
  Value y = getResult(), g = adj[0];
  int64_t axis = getAxis();
  Value s = G.expand(G.sum(g, {axis}), {axis}, y);
  out.push_back(G.sub(g, G.mul(b.create<ExpOp>(getLoc(), y), s)));
  return success();
}

LogicalResult FadeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  // (1 - alpha) g, alpha g; alpha is a schedule, not learned.
  Grad G(b, getLoc());
  Value a = G.broadcastTo(getAlpha(), rt(getLow()), getLow());
  out.push_back(G.mul(adj[0], G.sub(G.fill(1, a), a)));
  out.push_back(G.mul(adj[0], a));
  out.push_back(Value());
  return success();
}

LogicalResult BroadcastOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  out.push_back(G.sumTo(adj[0], rt(getInput())));
  for (size_t i = 0; i < getDynamicSizes().size(); ++i)
    out.push_back(Value());
  return success();
}

GM_SIMPLE_VJP(ReshapeOp, out.push_back(G.reshape(g, rt(getInput()))))

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  out.push_back(G.transpose(adj[0], inverse));
  return success();
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // Each input gets its slice of g.
  int64_t axis = getAxis(), offset = 0;
  for (Value in : getInputs()) {
    int64_t size = rt(in).getDimSize(axis);
    out.push_back(b.create<SliceOp>(getLoc(), in.getType(), adj[0],
                                    b.getI64IntegerAttr(axis),
                                    b.getI64IntegerAttr(offset),
                                    b.getI64IntegerAttr(size)));
    offset += size;
  }
  return success();
}

LogicalResult SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                SmallVectorImpl<Value> &out) {
  // g placed at [start, start + size) along the axis, zeros around it.
  Grad G(b, getLoc());
  auto in = rt(getInput());
  int64_t axis = getAxis(), start = getStart(), size = getSize();
  int64_t after = in.getDimSize(axis) - start - size;
  SmallVector<Value> parts;
  auto zeros = [&](int64_t n) {
    SmallVector<int64_t> shape(in.getShape());
    shape[axis] = n;
    auto type = RankedTensorType::get(shape, b.getF32Type());
    auto scalarType = RankedTensorType::get({}, b.getF32Type());
    Value c = b.create<ConstantOp>(getLoc(), scalarType,
                                   DenseElementsAttr::get(scalarType, 0.0f));
    return G.broadcastTo(c, type, getInput());
  };
  if (start > 0)
    parts.push_back(zeros(start));
  parts.push_back(adj[0]);
  if (after > 0)
    parts.push_back(zeros(after));
  out.push_back(parts.size() == 1
                    ? parts[0]
                    : b.create<ConcatOp>(getLoc(), in, parts,
                                         b.getI64IntegerAttr(axis))
                          .getResult());
  return success();
}

GM_SIMPLE_VJP(ShiftOp, out.push_back(b.create<ShiftOp>(
                           getLoc(), g, b.getI64IntegerAttr(getAxis()),
                           b.getI64IntegerAttr(-getAmount()))))

GM_SIMPLE_VJP(SumOp, out.push_back(G.expand(g, getAxes(), getInput())))

LogicalResult MeanOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  // The sum's rule divided by the (possibly dynamic) count.
  Grad G(b, getLoc());
  Value n = b.create<SizeOp>(getLoc(), getInput(), getAxes());
  Value scaled = G.div(adj[0], G.broadcastTo(n, rt(adj[0]), adj[0]));
  out.push_back(G.expand(scaled, getAxes(), getInput()));
  return success();
}

LogicalResult UpsampleOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                   SmallVectorImpl<Value> &out) {
  // Each input pixel fed factor^2 outputs: sum-pool the adjoint.
  Grad G(b, getLoc());
  int64_t f = getFactor();
  Value pooled = b.create<AvgPoolOp>(getLoc(), getInput().getType(), adj[0],
                                     b.getI64IntegerAttr(f));
  out.push_back(G.scale(pooled, (double)(f * f)));
  return success();
}

LogicalResult AvgPoolOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  int64_t f = getFactor();
  Value up = b.create<UpsampleOp>(getLoc(), getInput().getType(), adj[0],
                                  b.getI64IntegerAttr(f));
  out.push_back(G.scale(up, 1.0 / (double)(f * f)));
  return success();
}

LogicalResult MatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // C = A B: dA = g B^T, dB = A^T g.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<MatmulOp>(getLoc(), getLhs().getType(), g,
                                   G.transpose(getRhs(), {1, 0})));
  out.push_back(b.create<MatmulOp>(getLoc(), getRhs().getType(),
                                   G.transpose(getLhs(), {1, 0}), g));
  return success();
}

LogicalResult LinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // y = x W^T + b: dx = g W (B, IN), dW = g^T x (OUT, IN), db = sum_B g.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<MatmulOp>(getLoc(), getInput().getType(), g, getWeight()));
  out.push_back(b.create<MatmulOp>(getLoc(), getWeight().getType(),
                                   G.transpose(g, {1, 0}), getInput()));
  if (getBias())
    out.push_back(G.sum(g, {0}));
  return success();
}

LogicalResult ReconLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // The per-example adjoint g (B) spread over each example, times the
  // derivative of the summed loss.
  Grad G(b, getLoc());
  Location loc = getLoc();
  Value p = getPrediction(), t = getTarget();
  Value ge = G.expandExample(adj[0], p);
  switch (getKind()) {
  case LossKind::mse: { // (p - t)^2: 2 (p - t)
    Value d = G.mul(ge, G.scale(G.sub(p, t), 2.0));
    out.append({d, G.neg(d)});
    break;
  }
  case LossKind::l1: { // |p - t|: sign(p - t)
    Value d = G.mul(ge, b.create<SignOp>(loc, G.sub(p, t)));
    out.append({d, G.neg(d)});
    break;
  }
  case LossKind::bce_logits: // softplus(p) - t p: sigmoid(p) - t, -p
    out.push_back(G.mul(ge, G.sub(b.create<SigmoidOp>(loc, p), t)));
    out.push_back(G.neg(G.mul(ge, p)));
    break;
  case LossKind::softmax_xent: { // -sum t log_softmax(p)
    int64_t last = rt(p).getRank() - 1;
    Value lsm = b.create<LogSoftmaxOp>(loc, p, b.getI64IntegerAttr(last));
    Value st = G.expand(G.sum(t, {last}), {last}, t);
    Value sm = b.create<ExpOp>(loc, lsm);
    out.push_back(G.mul(ge, G.sub(G.mul(sm, st), t)));
    out.push_back(G.neg(G.mul(ge, lsm)));
    break;
  }
  }
  return success();
}

LogicalResult MaskedLinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                       SmallVectorImpl<Value> &out) {
  // As linear, with the masked weight W * M: dx = g (W * M), dW = (g^T x) * M.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto wt = rt(getWeight());
  Value mask = b.create<ConstantOp>(getLoc(), wt, getLinearMask(wt, getMask()));
  Value wm = G.mul(getWeight(), mask);
  out.push_back(b.create<MatmulOp>(getLoc(), getInput().getType(), g, wm));
  out.push_back(G.mul(b.create<MatmulOp>(getLoc(), wt, G.transpose(g, {1, 0}),
                                         getInput()),
                      mask));
  if (getBias())
    out.push_back(G.sum(g, {0}));
  return success();
}

/// output_padding that makes a transposed convolution come back to |size|.
static int64_t backPadding(int64_t size, int64_t outSize, int64_t k, int64_t s,
                           int64_t p) {
  return size - ((outSize - 1) * s - 2 * p + k);
}

LogicalResult Conv2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // dx = conv2d_transpose(g, W); dW = conv2d_weight_grad(x, g); db = sum g.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto x = rt(getInput()), w = rt(getWeight()), y = rt(getType());
  ArrayRef<int64_t> st = getStride(), pd = getPadding();
  SmallVector<int64_t> op{
      backPadding(x.getDimSize(2), y.getDimSize(2), w.getDimSize(2), st[0], pd[0]),
      backPadding(x.getDimSize(3), y.getDimSize(3), w.getDimSize(3), st[1], pd[1])};
  out.push_back(b.create<Conv2DTransposeOp>(
      getLoc(), x, g, getWeight(), Value(), getStrideAttr(), getPaddingAttr(),
      b.getDenseI64ArrayAttr(op)));
  out.push_back(b.create<Conv2DWeightGradOp>(getLoc(), w, getInput(), g,
                                             getStrideAttr(), getPaddingAttr()));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult Conv2DTransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                          SmallVectorImpl<Value> &out) {
  // The adjoint of a transposed convolution is a convolution with the same
  // weight; its weight gradient is conv2d_weight_grad with x and g swapped.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<Conv2DOp>(getLoc(), getInput().getType(), g,
                                   getWeight(), Value(), getStrideAttr(),
                                   getPaddingAttr()));
  out.push_back(b.create<Conv2DWeightGradOp>(getLoc(), getWeight().getType(), g,
                                             getInput(), getStrideAttr(),
                                             getPaddingAttr()));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult MaskedConv2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                       SmallVectorImpl<Value> &out) {
  // A stride-1 "same" convolution with the masked weight W * M.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto w = rt(getWeight());
  Value mask = b.create<ConstantOp>(getLoc(), w, getConvMask(w, getMask()));
  auto one = b.getDenseI64ArrayAttr({1, 1});
  auto pad = b.getDenseI64ArrayAttr({(w.getDimSize(2) - 1) / 2, (w.getDimSize(3) - 1) / 2});
  out.push_back(b.create<Conv2DTransposeOp>(
      getLoc(), getInput().getType(), g, G.mul(getWeight(), mask), Value(), one,
      pad, b.getDenseI64ArrayAttr({0, 0})));
  out.push_back(G.mul(b.create<Conv2DWeightGradOp>(getLoc(), w, getInput(), g, one, pad),
                      mask));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult BatchNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // Over the axes R of each channel (all but 1), with xhat = (x - mu) / s:
  // dgamma = sum_R g xhat, dbeta = sum_R g, and
  // dx = (gamma / s) (g - mean_R g - xhat mean_R(g xhat)).
  Grad G(b, getLoc());
  Value x = getInput(), g = adj[0];
  SmallVector<int64_t> axes = GMBuilder::channelReduceAxes(x);
  Value n = b.create<SizeOp>(getLoc(), x, axes);
  auto meanR = [&](Value v) { // mean over R, broadcast back to x's type
    Value s = G.sum(v, axes);
    return G.expand(G.div(s, G.broadcastTo(n, rt(s), s)), axes, x);
  };
  Value centred = G.sub(x, meanR(x));
  Value var = meanR(G.mul(centred, centred));
  Value eps = G.fill(getEps().convertToDouble(), var);
  Value inv = G.div(G.fill(1.0, var), b.create<SqrtOp>(getLoc(), G.add(var, eps)));
  Value xhat = G.mul(centred, inv);
  Value gamma = G.expand(getGamma(), axes, x);
  Value dxhat = G.mul(g, gamma);
  Value dx = G.mul(inv, G.sub(G.sub(dxhat, meanR(dxhat)),
                              G.mul(xhat, meanR(G.mul(dxhat, xhat)))));
  out.push_back(dx);
  out.push_back(G.sum(G.mul(g, xhat), axes));
  out.push_back(G.sum(g, axes));
  out.append({Value(), Value()}); // the running statistics: not read in training mode
  return success();
}

LogicalResult EmbeddingOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Value()); // token ids
  out.push_back(b.create<EmbeddingGradOp>(getLoc(), getTable().getType(),
                                          getIds(), adj[0]));
  return success();
}

LogicalResult LSTMCellOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                   SmallVectorImpl<Value> &out) {
  // Recompute the gates, then back through c' = f c + i g, h' = o tanh(c').
  Grad G(b, getLoc());
  Location loc = getLoc();
  auto ht = rt(getH());
  int64_t hid = ht.getDimSize(1);
  auto gatesType = RankedTensorType::get({ShapedType::kDynamic, 4 * hid}, b.getF32Type());
  Value gates = G.add(b.create<LinearOp>(loc, gatesType, getInput(), getWIh(), getBias()),
                      b.create<LinearOp>(loc, gatesType, getH(), getWHh(), Value()));
  auto chunk = [&](int64_t k) {
    return b.create<SliceOp>(loc, ht, gates, b.getI64IntegerAttr(1),
                             b.getI64IntegerAttr(k * hid), b.getI64IntegerAttr(hid))
        .getResult();
  };
  Value ig = b.create<SigmoidOp>(loc, chunk(0)), fg = b.create<SigmoidOp>(loc, chunk(1));
  Value gg = b.create<TanhOp>(loc, chunk(2)), og = b.create<SigmoidOp>(loc, chunk(3));
  Value tc = b.create<TanhOp>(loc, getCNext());
  Value one = G.fill(1.0, tc);
  Value dh = adj[0] ? adj[0] : G.fill(0.0, tc);
  Value dcNext = adj[1] ? adj[1] : G.fill(0.0, tc);
  Value dc = G.add(dcNext, G.mul(G.mul(dh, og), G.sub(one, G.mul(tc, tc))));
  Value di = G.mul(G.mul(dc, gg), G.mul(ig, G.sub(one, ig)));
  Value df = G.mul(G.mul(dc, getC()), G.mul(fg, G.sub(one, fg)));
  Value dg = G.mul(G.mul(dc, ig), G.sub(one, G.mul(gg, gg)));
  Value dout = G.mul(G.mul(dh, tc), G.mul(og, G.sub(one, og)));
  Value dgates = b.create<ConcatOp>(loc, gatesType, ValueRange{di, df, dg, dout},
                                    b.getI64IntegerAttr(1));
  Value dgT = G.transpose(dgates, {1, 0});
  out.push_back(b.create<MatmulOp>(loc, getInput().getType(), dgates, getWIh()));
  out.push_back(b.create<MatmulOp>(loc, getH().getType(), dgates, getWHh()));
  out.push_back(G.mul(dc, fg));
  out.push_back(b.create<MatmulOp>(loc, getWIh().getType(), dgT, getInput()));
  out.push_back(b.create<MatmulOp>(loc, getWHh().getType(), dgT, getH()));
  out.push_back(G.sum(dgates, {0}));
  return success();
}

LogicalResult RowLSTMOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  auto grad = b.create<RowLSTMGradOp>(
      getLoc(), TypeRange{getInput().getType(), getWIs().getType(),
                          getWSs().getType(), getBias().getType()},
      getInput(), getWIs(), getWSs(), getBias(), adj[0]);
  out.append(grad.getResults().begin(), grad.getResults().end());
  return success();
}

LogicalResult NadeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  auto grad = b.create<NadeGradOp>(
      getLoc(), TypeRange{getInput().getType(), getW().getType(), getC().getType(),
                          getV().getType(), getB().getType()},
      getInput(), getW(), getC(), getV(), getB(), adj[0]);
  out.append(grad.getResults().begin(), grad.getResults().end());
  return success();
}

#undef GM_SIMPLE_VJP
