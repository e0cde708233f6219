//===- Shapes.cpp - reshapes, permutations, slices, pooling to linalg -----===//
//
// Reshapes go through one flat dimension (collapse, then expand, the one
// dynamic size from the element count); transposes are linalg.transpose;
// slices, concatenations and shifts are tensor slices; upsampling is a
// floordiv map and average pooling a window reduction (NCHW); one-hot rows
// compare the column index with the id.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, LinalgBuilder(rw).reshape(op.getLoc(), adaptor.getInput(), op.getType()));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Value x = adaptor.getInput();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < op.getType().getRank(); ++i)
      if (op.getType().isDynamicDim(i))
        dyn.push_back(lb.dim(op.getLoc(), x, op.getPermutation()[i]));
    Value init = lb.empty(op.getLoc(), op.getType(), dyn);
    rw.replaceOp(op, rw.create<linalg::TransposeOp>(op.getLoc(), x, init, op.getPermutation())
                         .getResult()[0]);
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, LinalgBuilder(rw).slice(op.getLoc(), adaptor.getInput(), op.getAxis(),
                                             op.getStart(), op.getSize()));
    return success();
  }
};

// Each input inserted at its offset along the axis of an empty result.
struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    RankedTensorType outType = op.getType();
    ValueRange xs = adaptor.getInputs();
    int64_t axis = op.getAxis(), at = 0, rank = outType.getRank();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < rank; ++i)
      if (outType.isDynamicDim(i))
        dyn.push_back(lb.dim(loc, xs[0], i)); // the batch: never the concatenated axis
    Value out = lb.empty(loc, outType, dyn);
    for (Value x : xs) {
      SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), strides(rank, rw.getIndexAttr(1));
      offsets[axis] = rw.getIndexAttr(at);
      out = rw.create<tensor::InsertSliceOp>(loc, x, out, offsets, lb.sizesOf(loc, x), strides);
      at += lb.type(x).getDimSize(axis);
    }
    rw.replaceOp(op, out);
    return success();
  }
};

// out[i] = x[i - amount] along the axis, zero where that is outside.
struct ShiftLowering : OpConversionPattern<ShiftOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ShiftOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType t = lb.type(x);
    int64_t axis = op.getAxis(), amount = op.getAmount();
    int64_t n = t.getDimSize(axis), rank = t.getRank();
    Value out = lb.zeros(loc, t, lb.dynamicSizes(loc, x));
    int64_t keep = n - std::abs(amount);
    if (keep > 0) {
      Value part = lb.slice(loc, x, axis, amount > 0 ? 0 : -amount, keep);
      SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), strides(rank, rw.getIndexAttr(1));
      offsets[axis] = rw.getIndexAttr(amount > 0 ? amount : 0);
      out = rw.create<tensor::InsertSliceOp>(loc, part, out, offsets, lb.sizesOf(loc, part),
                                             strides);
    }
    rw.replaceOp(op, out);
    return success();
  }
};

// NCHW. upsample: out[n, c, i, j] = x[n, c, i / f, j / f]; avg_pool: the
// mean of the f x f window at (i f, j f).
template <typename OpT, bool Up>
struct ResampleLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType outType = op.getType();
    int64_t f = op.getFactor();
    SmallVector<Value> dyn;
    if (outType.isDynamicDim(0))
      dyn.push_back(lb.dim(loc, x, 0));
    MLIRContext *ctx = rw.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    if (Up) {
      AffineMap in = AffineMap::get(4, 0, {d(0), d(1), d(2).floorDiv(f), d(3).floorDiv(f)}, ctx);
      rw.replaceOp(op, lb.generic1(loc, outType, dyn, x, in,
                                   [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
      return success();
    }
    Value init = lb.zeros(loc, outType, dyn);
    AffineMap in = AffineMap::get(6, 0, {d(0), d(1), d(2) * f + d(4), d(3) * f + d(5)}, ctx);
    AffineMap out = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    // The f x f window as an (unread) operand: it gives the reduction loops
    // their bounds, as linalg's pooling ops do.
    Value window = rw.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{f, f}, lb.f32());
    AffineMap win = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
    using IT = utils::IteratorType;
    float scale = 1.0f / (float)(f * f);
    rw.replaceOp(
        op, rw.create<linalg::GenericOp>(
                  loc, TypeRange{outType}, ValueRange{x, window}, ValueRange{init},
                  ArrayRef<AffineMap>{in, win, out},
                  ArrayRef<IT>{IT::parallel, IT::parallel, IT::parallel, IT::parallel,
                               IT::reduction, IT::reduction},
                  [scale](OpBuilder &nb, Location l, ValueRange a) {
                    Value s = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(scale));
                    nb.create<linalg::YieldOp>(
                        l, ValueRange{nb.create<arith::AddFOp>(
                               l, a[2], nb.create<arith::MulFOp>(l, a[0], s))});
                  })
                .getResult(0));
    return success();
  }
};

// out[..., v] = (ids[...] == v): the id broadcast along the new last axis.
struct OneHotLowering : OpConversionPattern<OneHotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(OneHotOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value ids = adaptor.getIds();
    RankedTensorType outType = op.getType();
    int64_t rank = outType.getRank();
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(rw.getAffineDimExpr(i));
    AffineMap in = AffineMap::get(rank, 0, lead, rw.getContext());
    rw.replaceOp(op, lb.generic1(loc, outType, lb.dynamicSizes(loc, ids), ids, in,
                                 [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                   Value v = b.create<arith::IndexCastOp>(
                                       l, b.getI32Type(), b.create<linalg::IndexOp>(l, rank - 1));
                                   Value hit = b.create<arith::CmpIOp>(
                                       l, arith::CmpIPredicate::eq, a[0], v);
                                   return b.create<arith::UIToFPOp>(l, b.getF32Type(), hit);
                                 }));
    return success();
  }
};

} // namespace

void mlir::gm::populateShapePatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ReshapeLowering, TransposeLowering, SliceLowering, ConcatLowering, ShiftLowering,
               ResampleLowering<UpsampleOp, true>, ResampleLowering<AvgPoolOp, false>,
               OneHotLowering>(converter, patterns.getContext());
}
