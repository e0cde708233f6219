//===- Products.cpp - products, convolutions and batch norm to linalg -----===//
//
// Matrix products are linalg named products (gm-matmul-to-blas calls the
// runtime's SGEMM for them after bufferization); a gm.transpose feeding a
// product folds into matmul_transpose_a/b. Linear layers are a product
// whose initial value is the broadcast bias. Convolutions are im2col plus
// one product: NCHW activations, OIHW kernels. Batch norm is two
// per-channel reductions and one normalising generic.
//
// Shape legend: B batch, C input channels, F output channels, H/W spatial,
// KH/KW kernel, P = B OH OW rows of the im2col matrix, K = C KH KW.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

//===----------------------------------------------------------------------===//
// Helpers: zero borders, im2col, the product
//===----------------------------------------------------------------------===//

/// x [B, C, H, W] with (dilation - 1) zeros between pixels and zero borders:
/// a zero tensor with x inserted at a stride.
Value spread(LinalgBuilder &lb, Location loc, Value x, int64_t top, int64_t left,
             int64_t bottom, int64_t right, int64_t dilation) {
  RankedTensorType t = lb.type(x);
  if (!top && !left && !bottom && !right && dilation == 1)
    return x;
  int64_t h = t.getDimSize(2), w = t.getDimSize(3);
  auto outType = RankedTensorType::get({t.getDimSize(0), t.getDimSize(1),
                                        (h - 1) * dilation + 1 + top + bottom,
                                        (w - 1) * dilation + 1 + left + right},
                                       lb.f32());
  SmallVector<Value> dyn;
  if (t.isDynamicDim(0))
    dyn.push_back(lb.dim(loc, x, 0));
  Value z = lb.zeros(loc, outType, dyn);
  OpBuilder &b = lb.b;
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(top),
                                       b.getIndexAttr(left)};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1),
                                       b.getIndexAttr(dilation), b.getIndexAttr(dilation)};
  return b.create<tensor::InsertSliceOp>(loc, x, z, offsets, lb.sizesOf(loc, x), strides);
}

/// cols [P, K] with cols[(n, i, j), (c, di, dj)] = xp[n, c, i sh + di, j sw + dj].
Value im2col(LinalgBuilder &lb, Location loc, Value xp, int64_t kh, int64_t kw, int64_t oh,
             int64_t ow, int64_t sh, int64_t sw) {
  RankedTensorType t = lb.type(xp);
  int64_t c = t.getDimSize(1);
  auto colsType = RankedTensorType::get({t.getDimSize(0), oh, ow, c, kh, kw}, lb.f32());
  SmallVector<Value> dyn;
  if (t.isDynamicDim(0))
    dyn.push_back(lb.dim(loc, xp, 0));
  MLIRContext *ctx = lb.b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap in = AffineMap::get(6, 0, {d(0), d(3), d(1) * sh + d(4), d(2) * sw + d(5)}, ctx);
  Value cols = lb.generic1(loc, colsType, dyn, xp, in,
                           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  int64_t rows = t.isDynamicDim(0) ? ShapedType::kDynamic : t.getDimSize(0) * oh * ow;
  return lb.b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({rows, c * kh * kw}, lb.f32()), cols,
      ArrayRef<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
}

/// y[n, f, i, j] = sum xp[n, c, i sh + di, j sw + dj] w[f, c, di, dj] + bias[f]
/// as cols [P, K] times w [F, K]^T.
Value conv(LinalgBuilder &lb, Location loc, Value xp, Value w, Value bias, int64_t sh, int64_t sw,
           RankedTensorType outType) {
  OpBuilder &b = lb.b;
  RankedTensorType wt = lb.type(w);
  int64_t f = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
  int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
  Value cols = im2col(lb, loc, xp, kh, kw, oh, ow, sh, sw);
  Value w2 = b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({f, wt.getDimSize(1) * kh * kw}, lb.f32()), w,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  auto prodType = RankedTensorType::get({lb.type(cols).getDimSize(0), f}, lb.f32());
  SmallVector<Value> dyn;
  if (prodType.isDynamicDim(0))
    dyn.push_back(lb.dim(loc, cols, 0));
  Value init = bias ? lb.generic1(loc, prodType, dyn, bias,
                                  AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext()),
                                  [](OpBuilder &, Location, ValueRange a) { return a[0]; })
                    : lb.zeros(loc, prodType, dyn);
  Value y2 =
      b.create<linalg::MatmulTransposeBOp>(loc, prodType, ValueRange{cols, w2}, init).getResult(0);
  // [P, F] -> [B, OH, OW, F] -> [B, F, OH, OW].
  auto nhwc = RankedTensorType::get({outType.getDimSize(0), oh, ow, f}, lb.f32());
  SmallVector<OpFoldResult> sizes = {outType.isDynamicDim(0)
                                         ? OpFoldResult(lb.dim(loc, xp, 0))
                                         : b.getIndexAttr(outType.getDimSize(0)),
                                     b.getIndexAttr(oh), b.getIndexAttr(ow), b.getIndexAttr(f)};
  Value y3 = b.create<tensor::ExpandShapeOp>(loc, nhwc, y2,
                                             ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}}, sizes);
  SmallVector<Value> outDyn;
  if (outType.isDynamicDim(0))
    outDyn.push_back(lb.dim(loc, xp, 0));
  return b
      .create<linalg::TransposeOp>(loc, y3, lb.empty(loc, outType, outDyn),
                                   ArrayRef<int64_t>{0, 3, 1, 2})
      .getResult()[0];
}

/// dw[f, c, di, dj] = sum_{n, i, j} g[n, f, i, j] xp[n, c, i sh + di, j sw + dj]:
/// g as [P, F] transposed times cols [P, K].
Value convWeightGrad(LinalgBuilder &lb, Location loc, Value xp, Value g, int64_t sh, int64_t sw,
                     RankedTensorType outType) {
  OpBuilder &b = lb.b;
  int64_t f = outType.getDimSize(0), kh = outType.getDimSize(2), kw = outType.getDimSize(3);
  RankedTensorType gt = lb.type(g);
  int64_t oh = gt.getDimSize(2), ow = gt.getDimSize(3);
  Value cols = im2col(lb, loc, xp, kh, kw, oh, ow, sh, sw);
  SmallVector<Value> dyn;
  if (gt.isDynamicDim(0))
    dyn.push_back(lb.dim(loc, g, 0));
  auto nhwc = RankedTensorType::get({gt.getDimSize(0), oh, ow, f}, lb.f32());
  Value gT = b.create<linalg::TransposeOp>(loc, g, lb.empty(loc, nhwc, dyn),
                                           ArrayRef<int64_t>{0, 2, 3, 1})
                 .getResult()[0];
  Value g2 = b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({lb.type(cols).getDimSize(0), f}, lb.f32()), gT,
      ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}});
  int64_t k = outType.getDimSize(1) * kh * kw;
  auto dw2Type = RankedTensorType::get({f, k}, lb.f32());
  Value dw2 = b.create<linalg::MatmulTransposeAOp>(loc, dw2Type, ValueRange{g2, cols},
                                                   lb.zeros(loc, dw2Type, {}))
                  .getResult(0);
  return b.create<tensor::ExpandShapeOp>(loc, outType, dw2,
                                         ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
}

/// Zero borders of a convolution's input: the padding, plus whatever the
/// last window reads past the input.
Value padForWindows(LinalgBuilder &lb, Location loc, Value x, int64_t kh, int64_t kw, int64_t oh,
                    int64_t ow, ArrayRef<int64_t> stride, ArrayRef<int64_t> padding) {
  RankedTensorType xt = lb.type(x);
  int64_t bottom =
      std::max<int64_t>(0, (oh - 1) * stride[0] + kh - xt.getDimSize(2) - padding[0]);
  int64_t right = std::max<int64_t>(0, (ow - 1) * stride[1] + kw - xt.getDimSize(3) - padding[1]);
  return spread(lb, loc, x, padding[0], padding[1], bottom, right, 1);
}

/// The source of a 2-D gm.transpose, already lowered; null otherwise.
Value transposedSource(ConversionPatternRewriter &rw, Value v) {
  auto t = v.getDefiningOp<TransposeOp>();
  if (!t || t.getPermutation() != ArrayRef<int64_t>{1, 0})
    return {};
  return rw.getRemappedValue(t.getInput());
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

// C = A B; a transposed operand is read in place (BLAS takes the flag).
struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    RankedTensorType outType = op.getType();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    SmallVector<Value> dyn;
    if (outType.isDynamicDim(0))
      dyn.push_back(lb.dim(loc, lhs, 0));
    if (outType.isDynamicDim(1))
      dyn.push_back(lb.dim(loc, rhs, 1));
    Value init = lb.zeros(loc, outType, dyn);
    Value result;
    if (Value src = transposedSource(rw, op.getLhs()))
      result = rw.create<linalg::MatmulTransposeAOp>(loc, outType, ValueRange{src, rhs}, init)
                   .getResult(0);
    else if (Value src = transposedSource(rw, op.getRhs()))
      result = rw.create<linalg::MatmulTransposeBOp>(loc, outType, ValueRange{lhs, src}, init)
                   .getResult(0);
    else
      result = rw.create<linalg::MatmulOp>(loc, outType, ValueRange{lhs, rhs}, init).getResult(0);
    rw.replaceOp(op, result);
    return success();
  }
};

// y = x W^T + bias: the bias broadcast is the product's initial value.
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    RankedTensorType outType = op.getType();
    Value x = adaptor.getInput();
    SmallVector<Value> dyn = lb.dynamicSizes(loc, x);
    Value init;
    if (Value bias = adaptor.getBias()) {
      AffineMap row = AffineMap::get(2, 0, {rw.getAffineDimExpr(1)}, rw.getContext());
      init = lb.generic1(loc, outType, dyn, bias, row,
                         [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    } else {
      init = lb.zeros(loc, outType, dyn);
    }
    rw.replaceOp(op, rw.create<linalg::MatmulTransposeBOp>(
                           loc, outType, ValueRange{x, adaptor.getWeight()}, init)
                         .getResult(0));
    return success();
  }
};

struct Conv2DLowering : OpConversionPattern<Conv2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2DOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    RankedTensorType wt = lb.type(adaptor.getWeight()), outType = op.getType();
    Value xp = padForWindows(lb, op.getLoc(), adaptor.getInput(), wt.getDimSize(2),
                             wt.getDimSize(3), outType.getDimSize(2), outType.getDimSize(3),
                             op.getStride(), op.getPadding());
    rw.replaceOp(op, conv(lb, op.getLoc(), xp, adaptor.getWeight(), adaptor.getBias(),
                          op.getStride()[0], op.getStride()[1], outType));
    return success();
  }
};

struct Conv2DWeightGradLowering : OpConversionPattern<Conv2DWeightGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2DWeightGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    RankedTensorType gt = lb.type(adaptor.getGrad()), wt = op.getType();
    Value xp = padForWindows(lb, op.getLoc(), adaptor.getInput(), wt.getDimSize(2),
                             wt.getDimSize(3), gt.getDimSize(2), gt.getDimSize(3),
                             op.getStride(), op.getPadding());
    rw.replaceOp(op, convWeightGrad(lb, op.getLoc(), xp, adaptor.getGrad(), op.getStride()[0],
                                    op.getStride()[1], wt));
    return success();
  }
};

// A stride-1 convolution of the input dilated by the stride, with borders
// of k - 1 - padding, by the kernel flipped in space with its channel axes
// swapped.
struct Conv2DTransposeLowering : OpConversionPattern<Conv2DTransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Conv2DTransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    RankedTensorType xt = lb.type(x), wt = lb.type(w), outType = op.getType();
    int64_t sh = op.getStride()[0], sw = op.getStride()[1];
    int64_t ph = op.getPadding()[0], pw = op.getPadding()[1];
    int64_t c = wt.getDimSize(0), f = wt.getDimSize(1), kh = wt.getDimSize(2),
            kw = wt.getDimSize(3);
    int64_t top = kh - 1 - ph, left = kw - 1 - pw;
    if (top < 0 || left < 0)
      return rw.notifyMatchFailure(op, "padding beyond the kernel (a crop)");
    if (sh != sw)
      return rw.notifyMatchFailure(op, "different strides along H and W");
    int64_t bottom = std::max<int64_t>(
        0, outType.getDimSize(2) + kh - 1 - top - (xt.getDimSize(2) - 1) * sh - 1);
    int64_t right = std::max<int64_t>(
        0, outType.getDimSize(3) + kw - 1 - left - (xt.getDimSize(3) - 1) * sw - 1);
    Value xd = spread(lb, loc, x, top, left, bottom, right, sh);
    MLIRContext *ctx = rw.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap flip = AffineMap::get(4, 0, {d(1), d(0), kh - 1 - d(2), kw - 1 - d(3)}, ctx);
    Value wf = lb.generic1(loc, RankedTensorType::get({f, c, kh, kw}, lb.f32()), {}, w, flip,
                           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    rw.replaceOp(op, conv(lb, loc, xd, wf, adaptor.getBias(), 1, 1, outType));
    return success();
  }
};

// Per channel: batch mean and biased variance over every axis but 1, then
// gamma (x - mean) / sqrt(var + eps) + beta.
struct BatchNormLowering : OpConversionPattern<BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BatchNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType t = lb.type(x);
    int64_t rank = t.getRank();
    SmallVector<int64_t> axes;
    for (int64_t i = 0; i < rank; ++i)
      if (i != 1)
        axes.push_back(i);
    auto chType = RankedTensorType::get({t.getDimSize(1)}, lb.f32());
    Value nf = lb.countOf(loc, x, axes);
    AffineMap id = rw.getMultiDimIdentityMap(rank);
    AffineMap ch = AffineMap::get(rank, 0, {rw.getAffineDimExpr(1)}, rw.getContext());
    AffineMap vec = rw.getMultiDimIdentityMap(1);
    Value sum = lb.reduce(loc, x, axes, chType);
    Value mean = lb.generic1(loc, chType, {}, sum, vec,
                             [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                               return nb.create<arith::DivFOp>(l, a[0], nf);
                             });
    SmallVector<Value> dyn = lb.dynamicSizes(loc, x);
    Value sq = lb.generic1(loc, t, dyn, {x, mean}, {id, ch},
                           [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
                             return nb.create<arith::MulFOp>(l, d, d);
                           });
    Value var = lb.reduce(loc, sq, axes, chType);
    float eps = (float)op.getEps().convertToDouble();
    rw.replaceOp(op, lb.generic1(
                         loc, t, dyn, {x, mean, var, adaptor.getGamma(), adaptor.getBeta()},
                         {id, ch, ch, ch, ch}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           Value v = nb.create<arith::DivFOp>(l, a[2], nf);
                           Value e = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(eps));
                           Value inv = nb.create<math::RsqrtOp>(l, nb.create<arith::AddFOp>(l, v, e));
                           Value xhat =
                               nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]), inv);
                           return nb.create<arith::AddFOp>(l, nb.create<arith::MulFOp>(l, a[3], xhat),
                                                           a[4]);
                         }));
    return success();
  }
};

} // namespace

void mlir::gm::populateProductPatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<MatmulLowering, LinearLowering, Conv2DLowering, Conv2DWeightGradLowering,
               Conv2DTransposeLowering, BatchNormLowering>(converter, patterns.getContext());
}
