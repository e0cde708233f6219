//===- Random.cpp - samples and importance-weighted bounds to linalg ------===//
//
// gm.sample draws with Philox4x32-10 (runtime/include/gmrt/rng.h) in a
// generic's body, on the element's (or row's) flat index as counter, so
// compiled code draws exactly the numbers the reference evaluator draws for
// the same key and stream:
//
//   normal        mu + sigma N(0, 1), N from lanes 0 and 1 (Box-Muller, f64)
//   uniform       low + (high - low) u, u from lane 2
//   bernoulli     [u < sigmoid(logit)], u from lane 2
//   discretized   clamp(round((loc + exp(log_scale) logit(u)) (L - 1)),
//   logistic      0, L - 1) / (L - 1), u from lane 2 (f64)
//   categorical   one-hot: the first class whose cumulative probability
//                 exceeds u (lane 2 of the row's counter), else the last
//   mixture       a component as a categorical over the weights (lane 3 of
//                 counter n D), then that component's normal at n D + j
//
// The distribution's parameters are read from the gm op that made it (the
// distribution ops themselves are legal and dead once their samples are
// lowered). gm.iwae is an scf.for over its k draws keeping a running
// maximum and sum per example, so k is a run-time argument.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gm;

namespace {

/// The f64 sizes of every dimension of |t|, for flatIndex.
SmallVector<Value> sizesOf(LinalgBuilder &lb, Location loc, Value t) {
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < lb.type(t).getRank(); ++i)
    sizes.push_back(lb.dim(loc, t, i));
  return sizes;
}

/// mean + sigma N(0, 1) per element, sigma = spread or exp(spread / 2); the
/// counter is the element's flat index plus |offset| (the j-th draw of an
/// importance-weighted bound).
Value normalDraw(LinalgBuilder &lb, Location loc, Value mean, Value spread, bool logvar,
                 Value key, int64_t stream, Value offset) {
  SmallVector<Value> sizes = sizesOf(lb, loc, mean);
  return lb.generic1(loc, lb.type(mean), lb.dynamicSizes(loc, mean), {mean, spread}, {},
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value words[4];
                       Value index = flatIndex(nb, l, sizes);
                       if (offset)
                         index = nb.create<arith::AddIOp>(l, index, offset);
                       philox(nb, l, index, key, stream, words);
                       Value eps = standardNormal(nb, l, words);
                       Value sigma = a[1];
                       if (logvar) {
                         Value half = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.5f));
                         sigma = nb.create<math::ExpOp>(l, nb.create<arith::MulFOp>(l, half, a[1]));
                       }
                       return nb.create<arith::AddFOp>(l, a[0], nb.create<arith::MulFOp>(l, sigma, eps));
                     });
}

/// One-hot rows of a categorical over the last axis of |logits|: with u from
/// lane |lane| of counter row * |counterScale|, the first class whose
/// cumulative probability exceeds u (the last if rounding leaves u above
/// them all).
Value categoricalPick(LinalgBuilder &lb, Location loc, Value logits, Value key, int64_t stream,
                      int64_t counterScale, int lane) {
  RankedTensorType t = lb.type(logits);
  int64_t rank = t.getRank(), k = t.getDimSize(rank - 1);
  Value p = lb.softmax(loc, logits, rank - 1, /*log=*/false);
  Value excl = lb.prefixSum(loc, p, false), incl = lb.prefixSum(loc, p, true);
  SmallVector<Value> rowSizes;
  for (int64_t i = 0; i + 1 < rank; ++i)
    rowSizes.push_back(lb.dim(loc, logits, i));
  return lb.generic1(loc, t, lb.dynamicSizes(loc, logits), {excl, incl}, {},
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value row = flatIndex(nb, l, rowSizes);
                       if (counterScale != 1)
                         row = nb.create<arith::MulIOp>(
                             l, row,
                             nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(counterScale)));
                       Value words[4];
                       philox(nb, l, row, key, stream, words);
                       Value u = wordToUnit(nb, l, words[lane]);
                       Type f64 = nb.getF64Type();
                       Value lo = nb.create<arith::ExtFOp>(l, f64, a[0]);
                       Value hi = nb.create<arith::ExtFOp>(l, f64, a[1]);
                       Value j = nb.create<linalg::IndexOp>(l, rank - 1);
                       Value last = nb.create<arith::CmpIOp>(
                           l, arith::CmpIPredicate::eq, j,
                           nb.create<arith::ConstantIndexOp>(l, k - 1));
                       Value above = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGE, u, lo);
                       Value below = nb.create<arith::OrIOp>(
                           l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, u, hi), last);
                       Value pick = nb.create<arith::AndIOp>(l, above, below);
                       return nb.create<arith::UIToFPOp>(l, nb.getF32Type(), pick);
                     });
}

struct SampleLowering : OpConversionPattern<SampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SampleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value key = lb.scalarOf(loc, adaptor.getKey());
    int64_t stream = op.getStream();
    Operation *def = op.getDist().getDefiningOp();
    auto in = [&](Value v) { return rw.getRemappedValue(v); };
    Value result;
    if (auto n = dyn_cast_or_null<NormalOp>(def)) {
      result = normalDraw(lb, loc, in(n.getLoc()), in(n.getSpread()),
                          n.getParam() == NormalParam::logvar, key, stream, Value());
    } else if (auto u = dyn_cast_or_null<UniformOp>(def)) {
      Value lo = in(u.getLow());
      SmallVector<Value> sizes = sizesOf(lb, loc, lo);
      result = lb.elementwise(loc, op.getType(), {lo, in(u.getHigh())},
                              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value words[4];
                                philox(nb, l, flatIndex(nb, l, sizes), key, stream, words);
                                Value r = nb.create<arith::TruncFOp>(l, nb.getF32Type(),
                                                                     wordToUnit(nb, l, words[2]));
                                Value width = nb.create<arith::SubFOp>(l, a[1], a[0]);
                                return nb.create<arith::AddFOp>(l, a[0],
                                                                nb.create<arith::MulFOp>(l, width, r));
                              });
    } else if (auto bern = dyn_cast_or_null<BernoulliOp>(def)) {
      // [u < sigmoid(logit)], the probability in f64 like the draw.
      Value logits = in(bern.getLogits());
      SmallVector<Value> sizes = sizesOf(lb, loc, logits);
      result = lb.elementwise(loc, op.getType(), logits,
                              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value words[4];
                                philox(nb, l, flatIndex(nb, l, sizes), key, stream, words);
                                Value r = wordToUnit(nb, l, words[2]);
                                Type f64 = nb.getF64Type();
                                Value x = nb.create<arith::ExtFOp>(l, f64, a[0]);
                                Value one = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(1.0));
                                Value p = nb.create<arith::DivFOp>(
                                    l, one,
                                    nb.create<arith::AddFOp>(
                                        l, one, nb.create<math::ExpOp>(
                                                    l, nb.create<arith::NegFOp>(l, x))));
                                Value hit = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, r, p);
                                return nb.create<arith::UIToFPOp>(l, nb.getF32Type(), hit);
                              });
    } else if (auto dl = dyn_cast_or_null<DiscretizedLogisticOp>(def)) {
      Value mu = in(dl.getLoc());
      SmallVector<Value> sizes = sizesOf(lb, loc, mu);
      double steps = double(dl.getLevels() - 1);
      result = lb.elementwise(loc, op.getType(), {mu, in(dl.getLogScale())},
                              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value words[4];
                                philox(nb, l, flatIndex(nb, l, sizes), key, stream, words);
                                Value r = wordToUnit(nb, l, words[2]);
                                Type f64 = nb.getF64Type();
                                auto cst = [&](double v) {
                                  return nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(v));
                                };
                                Value logit = nb.create<math::LogOp>(
                                    l, nb.create<arith::DivFOp>(
                                           l, r, nb.create<arith::SubFOp>(l, cst(1.0), r)));
                                Value s = nb.create<math::ExpOp>(
                                    l, nb.create<arith::ExtFOp>(l, f64, a[1]));
                                Value y = nb.create<arith::AddFOp>(
                                    l, nb.create<arith::ExtFOp>(l, f64, a[0]),
                                    nb.create<arith::MulFOp>(l, s, logit));
                                Value k = nb.create<math::RoundOp>(
                                    l, nb.create<arith::MulFOp>(l, y, cst(steps)));
                                k = nb.create<arith::MinimumFOp>(
                                    l, nb.create<arith::MaximumFOp>(l, k, cst(0.0)), cst(steps));
                                return nb.create<arith::TruncFOp>(
                                    l, nb.getF32Type(), nb.create<arith::DivFOp>(l, k, cst(steps)));
                              });
    } else if (auto cat = dyn_cast_or_null<CategoricalOp>(def)) {
      result = categoricalPick(lb, loc, in(cat.getLogits()), key, stream, 1, 2);
    } else if (auto mix = dyn_cast_or_null<MixtureNormalOp>(def)) {
      result = sampleMixture(lb, loc, mix, in(mix.getLogits()), in(mix.getMeans()),
                             in(mix.getLogvars()), key, stream);
    } else {
      return rw.notifyMatchFailure(op, "a distribution not made by a gm distribution op");
    }
    rw.replaceOp(op, result);
    return success();
  }

  /// z[n, j] = sum_c sel[n, c] (mu[n, c, j] + exp(lv[n, c, j] / 2) eps[n, j]):
  /// sel the one-hot component of row n, eps its normal draws.
  static Value sampleMixture(LinalgBuilder &lb, Location loc, MixtureNormalOp mix, Value w,
                             Value mu, Value lv, Value key, int64_t stream) {
    OpBuilder &b = lb.b;
    int64_t dim = lb.type(mu).getDimSize(2);
    Value sel = categoricalPick(lb, loc, w, key, stream, dim, 3);
    auto zType = cast<RankedTensorType>(cast<DistType>(mix.getType()).getSampleType());
    SmallVector<Value> dyn = {lb.dim(loc, mu, 0)};
    SmallVector<Value> sizes = {dyn[0], lb.index(loc, dim)};
    Value eps = lb.generic1(loc, zType, dyn, {}, {}, [&](OpBuilder &nb, Location l, ValueRange) -> Value {
      Value words[4];
      philox(nb, l, flatIndex(nb, l, sizes), key, stream, words);
      return standardNormal(nb, l, words);
    });
    MLIRContext *ctx = b.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    // Loops (n, j, c), c reduced.
    AffineMap selMap = AffineMap::get(3, 0, {d(0), d(2)}, ctx);
    AffineMap compMap = AffineMap::get(3, 0, {d(0), d(2), d(1)}, ctx);
    AffineMap rowMap = AffineMap::get(3, 0, {d(0), d(1)}, ctx);
    using IT = utils::IteratorType;
    return b
        .create<linalg::GenericOp>(
            loc, TypeRange{zType}, ValueRange{sel, mu, lv, eps}, ValueRange{lb.zeros(loc, zType, dyn)},
            ArrayRef<AffineMap>{selMap, compMap, compMap, rowMap, rowMap},
            ArrayRef<IT>{IT::parallel, IT::parallel, IT::reduction},
            [](OpBuilder &nb, Location l, ValueRange a) {
              // a = (sel, mu, lv, eps, acc)
              Value half = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.5f));
              Value sigma = nb.create<math::ExpOp>(l, nb.create<arith::MulFOp>(l, half, a[2]));
              Value z = nb.create<arith::AddFOp>(l, a[1], nb.create<arith::MulFOp>(l, sigma, a[3]));
              Value zero = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.0f));
              Value picked = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::ONE, a[0], zero);
              Value term = nb.create<arith::SelectOp>(l, picked, z, zero);
              nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[4], term)});
            })
        .getResult(0);
  }
};

// log (1/k) sum_j w_j with z_j ~ q: a loop over the k draws keeping a running
// maximum m and sum s of exp(log w - m) per example; the region (after
// gm-expand-objectives, the whole log-weight) is moved into the loop and
// lowered there by the rest of the conversion.
struct IwaeLowering : OpConversionPattern<IwaeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(IwaeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    auto q = op.getQ().getDefiningOp<NormalOp>();
    if (!q || !op.getLogWeight())
      return rw.notifyMatchFailure(op, "only a normal q with an expanded log-weight");
    LinalgBuilder lb(rw);
    Location loc = op.getLoc();
    Value mean = rw.getRemappedValue(q.getLoc()), spread = rw.getRemappedValue(q.getSpread());
    Value key = lb.scalarOf(loc, adaptor.getKey());
    RankedTensorType outType = op.getType();
    SmallVector<Value> dyn = {lb.dim(loc, mean, 0)};
    Value numel = lb.index(loc, 1);
    for (int64_t i = 0; i < lb.type(mean).getRank(); ++i)
      numel = rw.create<arith::MulIOp>(loc, numel, lb.dim(loc, mean, i));
    Value numel64 = rw.create<arith::IndexCastOp>(loc, rw.getI64Type(), numel);
    Value kf = adaptor.getDraws() ? lb.scalarOf(loc, adaptor.getDraws())
                                  : lb.f32c(loc, (double)op.getK());
    Value kIdx = rw.create<arith::IndexCastOp>(
        loc, rw.getIndexType(), rw.create<arith::FPToSIOp>(loc, rw.getI64Type(), kf));
    Value m0 = rw.create<linalg::FillOp>(loc, lb.f32c(loc, -INFINITY), lb.empty(loc, outType, dyn))
                   .getResult(0);
    Value s0 = lb.zeros(loc, outType, dyn);
    auto loop = rw.create<scf::ForOp>(loc, lb.index(loc, 0), kIdx, lb.index(loc, 1),
                                      ValueRange{m0, s0});
    {
      OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(loop.getBody());
      Value j64 = rw.create<arith::IndexCastOp>(loc, rw.getI64Type(), loop.getInductionVar());
      Value offset = rw.create<arith::MulIOp>(loc, j64, numel64);
      Value z = normalDraw(lb, loc, mean, spread, q.getParam() == NormalParam::logvar, key,
                           op.getStream(), offset);
      Block &body = op.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      Value lw = yield.getValues()[0];
      rw.inlineBlockBefore(&body, loop.getBody(), loop.getBody()->end(), {z});
      rw.eraseOp(yield);
      rw.setInsertionPointToEnd(loop.getBody());
      Value m = loop.getRegionIterArgs()[0], s = loop.getRegionIterArgs()[1];
      AffineMap id = rw.getMultiDimIdentityMap(1);
      auto update = rw.create<linalg::GenericOp>(
          loc, TypeRange{outType, outType}, ValueRange{lw}, ValueRange{m, s},
          ArrayRef<AffineMap>{id, id, id},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
          [](OpBuilder &nb, Location l, ValueRange a) {
            // a = (log w, m, s)
            Value nm = nb.create<arith::MaximumFOp>(l, a[1], a[0]);
            Value scaled = nb.create<arith::MulFOp>(
                l, a[2], nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[1], nm)));
            Value ns = nb.create<arith::AddFOp>(
                l, scaled, nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], nm)));
            nb.create<linalg::YieldOp>(l, ValueRange{nm, ns});
          });
      rw.create<scf::YieldOp>(loc, update.getResults());
    }
    Value logK = rw.create<math::LogOp>(loc, kf);
    rw.replaceOp(op, lb.generic1(loc, outType, dyn, loop.getResults(), {},
                                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                   Value lse = nb.create<arith::AddFOp>(
                                       l, a[0], nb.create<math::LogOp>(l, a[1]));
                                   return nb.create<arith::SubFOp>(l, lse, logK);
                                 }));
    return success();
  }
};

} // namespace

void mlir::gm::populateRandomPatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<SampleLowering, IwaeLowering>(converter, patterns.getContext());
}
