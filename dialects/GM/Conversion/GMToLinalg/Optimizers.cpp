//===- Optimizers.cpp - Adam and SGD updates to linalg --------------------===//
//
// One elementwise generic per parameter whose outs are the parameter and
// its slots themselves: gm-to-abi reads the state through
// `bufferization.to_tensor restrict writable`, so bufferization updates the
// caller's buffers in place, with no copy and no allocation for the state.
// The hyper-parameters are run-time scalars; Adam's bias corrections are
// computed once per step, outside the loop.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

// m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
// p' = p - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps).
struct AdamLowering : OpConversionPattern<AdamUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AdamUpdateOp op, OpAdaptor a,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value t = lb.scalarOf(loc, a.getT()), lr = lb.scalarOf(loc, a.getLr());
    Value b1 = lb.scalarOf(loc, a.getBeta1()), b2 = lb.scalarOf(loc, a.getBeta2());
    Value eps = lb.scalarOf(loc, a.getEps());
    Value one = lb.f32c(loc, 1.0);
    Value c1 = rw.create<arith::SubFOp>(loc, one, rw.create<math::PowFOp>(loc, b1, t));
    Value c2 = rw.create<arith::SubFOp>(loc, one, rw.create<math::PowFOp>(loc, b2, t));
    auto r = lb.update(loc, {a.getGrad()}, {a.getParam(), a.getM(), a.getV()},
                       [&](OpBuilder &nb, Location l, ValueRange x) -> SmallVector<Value> {
                         // x = (g, p, m, v)
                         Value g = x[0];
                         Value m = nb.create<arith::AddFOp>(
                             l, nb.create<arith::MulFOp>(l, b1, x[2]),
                             nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, one, b1), g));
                         Value v = nb.create<arith::AddFOp>(
                             l, nb.create<arith::MulFOp>(l, b2, x[3]),
                             nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, one, b2),
                                                      nb.create<arith::MulFOp>(l, g, g)));
                         Value mhat = nb.create<arith::DivFOp>(l, m, c1);
                         Value denom = nb.create<arith::AddFOp>(
                             l, nb.create<math::SqrtOp>(l, nb.create<arith::DivFOp>(l, v, c2)), eps);
                         Value step =
                             nb.create<arith::DivFOp>(l, nb.create<arith::MulFOp>(l, lr, mhat), denom);
                         return {nb.create<arith::SubFOp>(l, x[1], step), m, v};
                       });
    rw.replaceOp(op, r);
    return success();
  }
};

// buf' = momentum buf + g; p' = p - lr buf' (PyTorch's form).
struct SgdLowering : OpConversionPattern<SgdUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SgdUpdateOp op, OpAdaptor a,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value lr = lb.scalarOf(loc, a.getLr()), mom = lb.scalarOf(loc, a.getMomentum());
    auto r = lb.update(loc, {a.getGrad()}, {a.getParam(), a.getBuf()},
                       [&](OpBuilder &nb, Location l, ValueRange x) -> SmallVector<Value> {
                         // x = (g, p, buf)
                         Value buf = nb.create<arith::AddFOp>(l, nb.create<arith::MulFOp>(l, mom, x[2]),
                                                              x[0]);
                         return {nb.create<arith::SubFOp>(l, x[1], nb.create<arith::MulFOp>(l, lr, buf)),
                                 buf};
                       });
    rw.replaceOp(op, r);
    return success();
  }
};

} // namespace

void mlir::gm::populateOptimizerPatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<AdamLowering, SgdLowering>(converter, patterns.getContext());
}
