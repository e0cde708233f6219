//===- Reductions.cpp - sums, means and softmax to linalg -----------------===//
//
// A sum is one reduction generic with reassociable adds (LLVM vectorises it
// in a fixed order: results stay deterministic); a mean is the sum divided
// by the (possibly dynamic) count; softmax and log-softmax subtract the
// maximum along their axis before exponentiating.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

struct SumLowering : OpConversionPattern<SumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SumOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, LinalgBuilder(rw).reduce(op.getLoc(), adaptor.getInput(), op.getAxes(),
                                              op.getType()));
    return success();
  }
};

// sum / count, the count from the operand's sizes (the batch is dynamic).
struct MeanLowering : OpConversionPattern<MeanOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MeanOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value sum = lb.reduce(loc, x, op.getAxes(), op.getType());
    Value n = lb.countOf(loc, x, op.getAxes());
    rw.replaceOp(op, lb.elementwise(loc, op.getType(), sum,
                                    [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                      return b.create<arith::DivFOp>(l, a[0], n);
                                    }));
    return success();
  }
};

template <typename OpT, bool Log>
struct SoftmaxLowering : OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, LinalgBuilder(rw).softmax(op.getLoc(), adaptor.getInput(), op.getAxis(), Log));
    return success();
  }
};

} // namespace

void mlir::gm::populateReductionPatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<SumLowering, MeanLowering, SoftmaxLowering<SoftmaxOp, false>,
               SoftmaxLowering<LogSoftmaxOp, true>>(converter, patterns.getContext());
}
