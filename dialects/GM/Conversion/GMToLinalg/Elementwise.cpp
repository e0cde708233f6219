//===- Elementwise.cpp - elementwise gm ops to linalg.generic -------------===//
//
// Every elementwise op becomes one parallel linalg.generic whose body is
// the op's scalar function (a rank-0 operand is read as a scalar);
// elementwise fusion later merges chains of them into one loop nest. The
// scalar functions are below, one per op: adding an elementwise op is one
// `scalar` overload and one name in populateElementwisePatterns.
//
// Precision: exp, log, tanh and friends are math ops, which code generation
// turns into polynomial approximations (gm-approximate-math) that LLVM
// vectorises with the loops around them.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

Value cst(OpBuilder &b, Location l, double v) {
  return b.create<arith::ConstantOp>(l, b.getF32FloatAttr((float)v));
}

//===----------------------------------------------------------------------===//
// Scalar functions, one per op, on the elements |x| of the operands
//===----------------------------------------------------------------------===//

Value scalar(AddOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::AddFOp>(l, x[0], x[1]);
}
Value scalar(SubOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::SubFOp>(l, x[0], x[1]);
}
Value scalar(MulOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::MulFOp>(l, x[0], x[1]);
}
Value scalar(DivOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::DivFOp>(l, x[0], x[1]);
}
Value scalar(NegOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::NegFOp>(l, x[0]);
}
Value scalar(ExpOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<math::ExpOp>(l, x[0]);
}
Value scalar(LogOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<math::LogOp>(l, x[0]);
}
Value scalar(SqrtOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<math::SqrtOp>(l, x[0]);
}
Value scalar(SquareOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::MulFOp>(l, x[0], x[0]);
}
Value scalar(AbsOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<math::AbsFOp>(l, x[0]);
}
Value scalar(TanhOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<math::TanhOp>(l, x[0]);
}
// 1 / (1 + exp(-x)).
Value scalar(SigmoidOp, OpBuilder &b, Location l, ValueRange x) {
  Value e = b.create<math::ExpOp>(l, b.create<arith::NegFOp>(l, x[0]));
  return b.create<arith::DivFOp>(l, cst(b, l, 1.0), b.create<arith::AddFOp>(l, cst(b, l, 1.0), e));
}
Value scalar(SoftplusOp, OpBuilder &b, Location l, ValueRange x) {
  return softplus(b, l, x[0]);
}
// log sigmoid(x) = -softplus(-x).
Value scalar(LogSigmoidOp, OpBuilder &b, Location l, ValueRange x) {
  return b.create<arith::NegFOp>(l, softplus(b, l, b.create<arith::NegFOp>(l, x[0])));
}
// x > 0 ? x : 0.
Value scalar(ReluOp, OpBuilder &b, Location l, ValueRange x) {
  Value zero = cst(b, l, 0.0);
  return b.create<arith::SelectOp>(
      l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x[0], zero), x[0], zero);
}
// x > 0 ? x : alpha x.
Value scalar(LeakyReluOp op, OpBuilder &b, Location l, ValueRange x) {
  Value zero = cst(b, l, 0.0);
  Value scaled = b.create<arith::MulFOp>(l, cst(b, l, op.getAlpha().convertToDouble()), x[0]);
  return b.create<arith::SelectOp>(
      l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x[0], zero), x[0], scaled);
}
// x > 0 ? x : alpha expm1(x).
Value scalar(EluOp op, OpBuilder &b, Location l, ValueRange x) {
  Value zero = cst(b, l, 0.0);
  Value neg = b.create<arith::MulFOp>(l, cst(b, l, op.getAlpha().convertToDouble()),
                                      b.create<math::ExpM1Op>(l, x[0]));
  return b.create<arith::SelectOp>(
      l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x[0], zero), x[0], neg);
}
// [x > 0] - [x < 0].
Value scalar(SignOp, OpBuilder &b, Location l, ValueRange x) {
  Value zero = cst(b, l, 0.0);
  Value pos = b.create<arith::UIToFPOp>(
      l, b.getF32Type(), b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x[0], zero));
  Value neg = b.create<arith::UIToFPOp>(
      l, b.getF32Type(), b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, x[0], zero));
  return b.create<arith::SubFOp>(l, pos, neg);
}

/// An elementwise op: one generic over its result's shape.
template <typename OpT>
struct ElementwiseLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    rw.replaceOp(op, lb.elementwise(op.getLoc(), type, adaptor.getOperands(),
                                    [&](OpBuilder &b, Location l, ValueRange x) {
                                      return scalar(op, b, l, x);
                                    }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Constants, sizes, broadcasts
//===----------------------------------------------------------------------===//

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor, ConversionPatternRewriter &rw) const override {
    rw.replaceOpWithNewOp<arith::ConstantOp>(op, cast<TypedAttr>(op.getValue()));
    return success();
  }
};

// The batch size: dimension 0 of the operand.
struct BatchSizeLowering : OpConversionPattern<BatchSizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BatchSizeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, LinalgBuilder(rw).dim(op.getLoc(), adaptor.getInput(), 0));
    return success();
  }
};

// The product of the sizes of some axes, as a tensor<f32>.
struct SizeLowering : OpConversionPattern<SizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SizeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Value n = LinalgBuilder(rw).countOf(op.getLoc(), adaptor.getInput(), op.getAxes());
    rw.replaceOpWithNewOp<tensor::FromElementsOp>(op, op.getType(), ValueRange{n});
    return success();
  }
};

// numpy alignment: source dim i is result dim i + (rank - srcRank); a size-1
// source dim against a larger result dim is read at 0.
struct BroadcastLowering : OpConversionPattern<BroadcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BroadcastOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Value in = adaptor.getInput();
    RankedTensorType src = lb.type(in), dst = op.getType();
    int64_t offset = dst.getRank() - src.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < src.getRank(); ++i) {
      bool stretch = src.getDimSize(i) == 1 && dst.getDimSize(i + offset) != 1;
      exprs.push_back(stretch ? rw.getAffineConstantExpr(0) : rw.getAffineDimExpr(i + offset));
    }
    AffineMap m = AffineMap::get(dst.getRank(), 0, exprs, rw.getContext());
    rw.replaceOp(op, lb.generic1(op.getLoc(), dst, adaptor.getDynamicSizes(), in, m,
                                 [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
    return success();
  }
};

} // namespace

void mlir::gm::populateElementwisePatterns(TypeConverter &converter,
                                           RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<NegOp>, ElementwiseLowering<ExpOp>,
               ElementwiseLowering<LogOp>, ElementwiseLowering<SqrtOp>,
               ElementwiseLowering<SquareOp>, ElementwiseLowering<AbsOp>,
               ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<SoftplusOp>, ElementwiseLowering<LogSigmoidOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<LeakyReluOp>,
               ElementwiseLowering<EluOp>,
               ElementwiseLowering<SignOp>>(converter, patterns.getContext());
  patterns.add<ConstantLowering, BatchSizeLowering, SizeLowering, BroadcastLowering>(
      converter, patterns.getContext());
}
