//===- Autoregressive.cpp - NADE's recurrence as loops over the pixels ----===//
//
// gm.nade and gm.nade_grad become one scf.for over the D conditionals each
// (and gm.ar_sample of a NADE, the same loop drawing x_d as it goes),
// carrying the shared pre-activation a_d = c + W[:, <d] x_<d as a (B, H)
// tensor: O(B D H) work and O(B H) live state, never the (B, D, H) tensor of
// every a_d (157 MB at batch 100 for Fashion-MNIST's H = 500, D = 784).
// Every step is a few generics over (B, H) with H innermost and contiguous,
// so LLVM vectorises them; W is transposed once so that its column d is a
// contiguous row.
//
//   forward, d = 0 .. D-1:   logit_d = b_d + sigmoid(a_d) . V[d]
//                            a_{d+1} = a_d + x_d W[:, d]
//                            (one pass over a: the update, and with it the
//                            next logit, 14% faster sampling than two)
//   backward, d = D-1 .. 0:  a_d = a_{d+1} - x_d W[:, d]    (a_D = c + x W^T)
//                            dW[:, d] = sum_b x_d s,  dx_d = W[:, d] . s
//                            dV[d] = sum_b g_d h_d,   s += g_d V[d] h_d (1 - h_d)
//
// with h_d = sigmoid(a_d) and s the sum of the hidden adjoints of the
// conditionals after d; dc = sum_b s at the end. The backward pass walks a
// down by subtraction instead of storing it: the rounding this adds is that
// of the D additions that built it, which conformance measures.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

using namespace mlir;
using namespace mlir::gm;

namespace {

using IT = utils::IteratorType;

// sigmoid(x) = (1 + tanh(x / 2)) / 2. Most of NADE's time is this, for each
// of H hidden units at each of D steps; tanh's polynomial approximation is
// cheaper than exp's and 1 / (1 + e) (NADE trains 25% and samples 22%
// faster than with the sigmoid op's own formula). Its absolute error stays
// near f32's epsilon; only relative accuracy below sigmoid ~ 1e-7 is lost,
// which nothing here reads (conformance holds on every CPU level).
Value sigmoid(OpBuilder &b, Location l, Value x) {
  Value half = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(0.5f));
  Value t = b.create<math::TanhOp>(l, b.create<arith::MulFOp>(l, half, x));
  return b.create<math::FmaOp>(l, half, t, half);
}

/// x_d of an ancestral sample: 1 when the uniform |u| < sigmoid(|logit|).
Value draw(OpBuilder &b, Location l, Value logit, Value u) {
  Value hit = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, u, sigmoid(b, l, logit));
  Value one = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(1.0f));
  Value zero = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(0.0f));
  return b.create<arith::SelectOp>(l, hit, one, zero);
}

/// The discretised-logistic draw on the grid k / (levels - 1):
/// clamp(round((loc + exp(log_scale) logit(u)) (levels - 1)), 0, levels - 1)
/// / (levels - 1).
Value drawLogistic(OpBuilder &b, Location l, Value mu, Value logScale, Value u,
                   int64_t levels) {
  auto cst = [&](double v) { return b.create<arith::ConstantOp>(l, b.getF32FloatAttr(v)); };
  Value one = cst(1.0), steps = cst(double(levels - 1));
  Value logit = b.create<math::LogOp>(
      l, b.create<arith::DivFOp>(l, u, b.create<arith::SubFOp>(l, one, u)));
  Value y = b.create<arith::AddFOp>(
      l, mu, b.create<arith::MulFOp>(l, b.create<math::ExpOp>(l, logScale), logit));
  Value k = b.create<math::RoundOp>(l, b.create<arith::MulFOp>(l, y, steps));
  k = b.create<arith::MinimumFOp>(l, b.create<arith::MaximumFOp>(l, k, cst(0.0)), steps);
  return b.create<arith::DivFOp>(l, k, steps);
}

Value fma(OpBuilder &b, Location l, Value acc, Value x, Value y, bool reassoc) {
  Value p = b.create<arith::MulFOp>(l, x, y);
  return reassoc ? b.create<arith::AddFOp>(l, acc, p, arith::FastMathFlags::reassoc)
                 : b.create<arith::AddFOp>(l, acc, p).getResult();
}

/// What the two patterns share: the sizes, the maps of a generic over
/// (b, h), and slices of rows and columns at the loop's index.
struct NadeBuilder {
  ConversionPatternRewriter &rw;
  LinalgBuilder lb;
  Location loc;
  MLIRContext *ctx;
  Value batch;          // B, read from x
  int64_t d, h;         // D pixels, H hidden units
  RankedTensorType bh;  // (B, H)
  RankedTensorType colB, rowH;

  NadeBuilder(ConversionPatternRewriter &rw, Location loc, Value x, Value w)
      : rw(rw), lb(rw), loc(loc), ctx(rw.getContext()) {
    batch = lb.dim(loc, x, 0);
    d = LinalgBuilder::type(x).getDimSize(1);
    h = LinalgBuilder::type(w).getDimSize(0);
    Type f32 = rw.getF32Type();
    bh = RankedTensorType::get({ShapedType::kDynamic, h}, f32);
    colB = RankedTensorType::get({ShapedType::kDynamic}, f32);
    rowH = RankedTensorType::get({h}, f32);
  }

  AffineExpr dim(unsigned i) { return getAffineDimExpr(i, ctx); }
  AffineMap bhMap() { return AffineMap::get(2, 0, {dim(0), dim(1)}, ctx); }
  AffineMap bMap() { return AffineMap::get(2, 0, {dim(0)}, ctx); }
  AffineMap hMap() { return AffineMap::get(2, 0, {dim(1)}, ctx); }

  OpFoldResult idx(int64_t v) { return rw.getIndexAttr(v); }

  /// Row |i| of a (D, H) tensor, as (H).
  Value row(Value t, Value i) {
    return rw.create<tensor::ExtractSliceOp>(loc, rowH, t, ArrayRef<OpFoldResult>{i, idx(0)},
                                             ArrayRef<OpFoldResult>{idx(1), idx(h)},
                                             ArrayRef<OpFoldResult>{idx(1), idx(1)});
  }
  /// Column |i| of a (B, D) tensor, as (B).
  Value column(Value t, Value i) {
    return rw.create<tensor::ExtractSliceOp>(loc, colB, t, ArrayRef<OpFoldResult>{idx(0), i},
                                             ArrayRef<OpFoldResult>{batch, idx(1)},
                                             ArrayRef<OpFoldResult>{idx(1), idx(1)});
  }
  Value insertRow(Value r, Value into, Value i) {
    return rw.create<tensor::InsertSliceOp>(loc, r, into, ArrayRef<OpFoldResult>{i, idx(0)},
                                            ArrayRef<OpFoldResult>{idx(1), idx(h)},
                                            ArrayRef<OpFoldResult>{idx(1), idx(1)});
  }
  Value insertColumn(Value c, Value into, Value i) {
    return rw.create<tensor::InsertSliceOp>(loc, c, into, ArrayRef<OpFoldResult>{idx(0), i},
                                            ArrayRef<OpFoldResult>{batch, idx(1)},
                                            ArrayRef<OpFoldResult>{idx(1), idx(1)});
  }

  /// W (H, D) -> (D, H): column d of W becomes a contiguous row.
  Value transposed(Value w) {
    auto t = RankedTensorType::get({d, h}, rw.getF32Type());
    return rw
        .create<linalg::TransposeOp>(loc, w, lb.empty(loc, t, {}), ArrayRef<int64_t>{1, 0})
        .getResult()[0];
  }

  /// A generic over (b, h) with |iters|, reading |ins| through |inMaps| and
  /// accumulating into |outs| through |outMaps|.
  SmallVector<Value> over(ValueRange ins, ArrayRef<AffineMap> inMaps, ValueRange outs,
                          ArrayRef<AffineMap> outMaps, ArrayRef<IT> iters, MultiBodyFn body) {
    SmallVector<AffineMap> maps(inMaps);
    maps.append(outMaps.begin(), outMaps.end());
    SmallVector<Type> types;
    for (Value o : outs)
      types.push_back(o.getType());
    return rw
        .create<linalg::GenericOp>(loc, types, ins, outs, maps, iters,
                                   [&](OpBuilder &nb, Location l, ValueRange a) {
                                     nb.create<linalg::YieldOp>(l, body(nb, l, a));
                                   })
        .getResults();
  }
};

/// NADE's forward recurrence over |x| (B, D): the logits, or with
/// |uniforms| an exact sample drawn as it goes (x_d = [u_d < sigmoid(logit_d)]
/// feeds a_{d+1}), where |x| only gives the batch.
Value nadeForward(NadeBuilder &nb, Value x, Value w, Value c, Value v, Value bias,
                  Value uniforms, RankedTensorType outType) {
  ConversionPatternRewriter &rw = nb.rw;
  LinalgBuilder &lb = nb.lb;
  Location loc = nb.loc;
  Value wt = nb.transposed(w);
  // a_0 = c in every row; the result is written column by column.
  Value a0 = nb.over(c, nb.hMap(), lb.empty(loc, nb.bh, nb.batch), nb.bhMap(),
                     {IT::parallel, IT::parallel},
                     [](OpBuilder &, Location, ValueRange a) { return SmallVector<Value>{a[0]}; })[0];
  // logit_d = b_d + sum_h sigmoid(a_d) V[d]: h is the reduction.
  // (|into|: the buffer to fill, so the loop's logit stays one buffer.)
  auto logitInit = [&](Value d, Value into) {
    Value bd = rw.create<tensor::ExtractOp>(loc, bias, d);
    return rw.create<linalg::FillOp>(loc, bd, into).getResult(0);
  };
  Value zero = lb.index(loc, 0);
  Value col0 = nb.over({a0, nb.row(v, zero)}, {nb.bhMap(), nb.hMap()},
                       logitInit(zero, lb.empty(loc, nb.colB, nb.batch)), nb.bMap(),
                       {IT::parallel, IT::reduction},
                       [](OpBuilder &b, Location l, ValueRange s) {
                         return SmallVector<Value>{fma(b, l, s[2], sigmoid(b, l, s[0]), s[1], true)};
                       })[0];
  Value out0 = lb.empty(loc, outType, nb.batch);
  auto loop = rw.create<scf::ForOp>(loc, zero, lb.index(loc, nb.d), lb.index(loc, 1),
                                    ValueRange{a0, out0, col0});
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPointToStart(loop.getBody());
  Value i = loop.getInductionVar();
  ValueRange carried = loop.getRegionIterArgs();
  Value a = carried[0], out = carried[1], col = carried[2];
  Value xi;
  if (!uniforms) {
    xi = nb.column(x, i);
  } else {
    // x_d = [u_d < sigmoid(logit_d)], then x_d feeds the rest.
    AffineMap id = rw.getMultiDimIdentityMap(1);
    xi = rw.create<linalg::GenericOp>(
               loc, TypeRange{nb.colB}, ValueRange{col, nb.column(uniforms, i)},
               ValueRange{lb.empty(loc, nb.colB, nb.batch)}, ArrayRef<AffineMap>{id, id, id},
               ArrayRef<IT>{IT::parallel},
               [](OpBuilder &b, Location l, ValueRange s) {
                 b.create<linalg::YieldOp>(l, ValueRange{draw(b, l, s[0], s[1])});
               })
             .getResult(0);
  }
  Value next = nb.insertColumn(uniforms ? xi : col, out, i);
  // One pass over a: a_{d+1} = a_d + x_d W[:, d] in place, and with it the
  // next logit, b_{d+1} + sigmoid(a_{d+1}) . V[d+1] (at the last d, a
  // logit of d again, unused), instead of a second pass reading a back.
  Value iNext = rw.create<arith::MinSIOp>(loc, rw.create<arith::AddIOp>(loc, i, lb.index(loc, 1)),
                                          lb.index(loc, nb.d - 1));
  SmallVector<Value> step = nb.over(
      {xi, nb.row(wt, i), nb.row(v, iNext)}, {nb.bMap(), nb.hMap(), nb.hMap()},
      {a, logitInit(iNext, col)}, {nb.bhMap(), nb.bMap()}, {IT::parallel, IT::reduction},
      [](OpBuilder &b, Location l, ValueRange s) {
        // s = (x_d, W[:, d], V[d + 1], a, logit)
        Value na = fma(b, l, s[3], s[0], s[1], false);
        return SmallVector<Value>{na, fma(b, l, s[4], sigmoid(b, l, na), s[2], true)};
      });
  rw.create<scf::YieldOp>(loc, ValueRange{step[0], next, step[1]});
  return loop.getResult(1);
}

struct NadeLowering : OpConversionPattern<NadeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NadeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    NadeBuilder nb(rw, op.getLoc(), adaptor.getInput(), adaptor.getW());
    rw.replaceOp(op, nadeForward(nb, adaptor.getInput(), adaptor.getW(), adaptor.getC(),
                                 adaptor.getV(), adaptor.getB(), Value(), op.getType()));
    return success();
  }
};

// Ancestral sampling. A region that is one gm.nade of the partial sample
// (its weights from outside) is NADE's recurrence with the draw inside:
// O(DH) per example. Any other region runs once per value d, inlined into
// an scf.for over d, and x_d is drawn from its parameters by one generic over x
// that selects element d of each example (O(D) per step besides the
// region).
struct ArSampleLowering : OpConversionPattern<ArSampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ArSampleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    Value u = adaptor.getUniforms();
    auto outside = [&](Value v) { return !op.getBody().isAncestor(v.getParentRegion()); };
    std::optional<uint64_t> levels = op.getLevels();
    NadeOp nade = levels ? NadeOp() : yield.getValues()[0].getDefiningOp<NadeOp>();
    if (nade &&
        nade.getInput() == body.getArgument(0) && outside(nade.getW()) &&
        outside(nade.getC()) && outside(nade.getV()) && outside(nade.getB())) {
      Value w = rw.getRemappedValue(nade.getW());
      NadeBuilder nb(rw, loc, u, w);
      rw.replaceOp(op, nadeForward(nb, u, w, rw.getRemappedValue(nade.getC()),
                                   rw.getRemappedValue(nade.getV()),
                                   rw.getRemappedValue(nade.getB()), u, op.getType()));
      return success();
    }
    LinalgBuilder lb(rw);
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank(), perExample = 1;
    for (int64_t i = 1; i < rank; ++i)
      perExample *= type.getDimSize(i);
    SmallVector<Value> dyn = lb.dynamicSizes(loc, u);
    auto loop = rw.create<scf::ForOp>(loc, lb.index(loc, 0), lb.index(loc, perExample),
                                      lb.index(loc, 1), ValueRange{lb.zeros(loc, type, dyn)});
    OpBuilder::InsertionGuard guard(rw);
    Value x = loop.getRegionIterArgs()[0], d = loop.getInductionVar();
    SmallVector<Value> ins(yield.getValues()); // the parameters, then u
    size_t params = ins.size();
    ins.push_back(u);
    rw.inlineBlockBefore(&body, loop.getBody(), loop.getBody()->end(), {x});
    rw.eraseOp(yield);
    rw.setInsertionPointToEnd(loop.getBody());
    AffineMap id = rw.getMultiDimIdentityMap(rank);
    SmallVector<IT> iters(rank, IT::parallel);
    auto next = rw.create<linalg::GenericOp>(
        loc, TypeRange{type}, ins, ValueRange{x}, SmallVector<AffineMap>(params + 2, id), iters,
        [&](OpBuilder &b, Location l, ValueRange s) {
          // The row-major index of this element within its example.
          Value flat = b.create<arith::ConstantIndexOp>(l, 0);
          for (int64_t i = 1; i < rank; ++i) {
            flat = b.create<arith::MulIOp>(
                l, flat, b.create<arith::ConstantIndexOp>(l, type.getDimSize(i)));
            flat = b.create<arith::AddIOp>(l, flat, b.create<linalg::IndexOp>(l, i));
          }
          Value here = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, flat, d);
          Value drawn = levels ? drawLogistic(b, l, s[0], s[1], s[2], *levels)
                               : draw(b, l, s[0], s[1]);
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, here, drawn, s.back())});
        });
    rw.create<scf::YieldOp>(loc, next.getResults());
    rw.replaceOp(op, loop.getResults());
    return success();
  }
};

struct NadeGradLowering : OpConversionPattern<NadeGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NadeGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getW(), v = adaptor.getV(), g = adaptor.getGrad();
    NadeBuilder nb(rw, loc, x, w);
    LinalgBuilder &lb = nb.lb;
    Value wt = nb.transposed(w);
    // The data's adjoint is computed only when something reads it (a
    // training step's x is data and never does).
    bool wantDx = !op.getDInput().use_empty();
    auto dh = RankedTensorType::get({nb.d, nb.h}, rw.getF32Type());
    // a_D = c + x W^T: one product, then walked down.
    Value c0 = nb.over(adaptor.getC(), nb.hMap(), lb.empty(loc, nb.bh, nb.batch), nb.bhMap(),
                       {IT::parallel, IT::parallel},
                       [](OpBuilder &, Location, ValueRange a) { return SmallVector<Value>{a[0]}; })[0];
    Value aD = rw.create<linalg::MatmulTransposeBOp>(loc, nb.bh, ValueRange{x, w}, c0).getResult(0);
    SmallVector<Value> inits = {aD, lb.zeros(loc, nb.bh, nb.batch), lb.empty(loc, dh, {}),
                                lb.empty(loc, dh, {})};
    if (wantDx)
      inits.push_back(lb.empty(loc, LinalgBuilder::type(x), nb.batch));
    auto loop = rw.create<scf::ForOp>(loc, lb.index(loc, 0), lb.index(loc, nb.d),
                                      lb.index(loc, 1), inits);
    {
      OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(loop.getBody());
      // d = D - 1 - k.
      Value i = rw.create<arith::SubIOp>(loc, lb.index(loc, nb.d - 1), loop.getInductionVar());
      ValueRange carried = loop.getRegionIterArgs();
      Value a = carried[0], s = carried[1], dwt = carried[2], dv = carried[3];
      Value xi = nb.column(x, i), wi = nb.row(wt, i), vi = nb.row(v, i), gi = nb.column(g, i);
      // a_d = a_{d+1} - x_d W[:, d] (in place) and h_d = sigmoid(a_d).
      SmallVector<Value> ah = nb.over(
          {xi, wi}, {nb.bMap(), nb.hMap()}, {a, lb.empty(loc, nb.bh, nb.batch)},
          {nb.bhMap(), nb.bhMap()}, {IT::parallel, IT::parallel},
          [](OpBuilder &b, Location l, ValueRange s) {
            Value ad = b.create<arith::SubFOp>(l, s[2], b.create<arith::MulFOp>(l, s[0], s[1]));
            return SmallVector<Value>{ad, sigmoid(b, l, ad)};
          });
      Value hd = ah[1];
      // x_d feeds every conditional after d: its weight column meets s
      // (b is the reduction, h stays innermost).
      Value dwRow = nb.over({xi, s}, {nb.bMap(), nb.bhMap()}, lb.zeros(loc, nb.rowH, {}),
                            nb.hMap(), {IT::reduction, IT::parallel},
                            [](OpBuilder &b, Location l, ValueRange s) {
                              return SmallVector<Value>{fma(b, l, s[2], s[0], s[1], false)};
                            })[0];
      SmallVector<Value> next = {ah[0], Value(), nb.insertRow(dwRow, dwt, i), Value()};
      if (wantDx) {
        Value dxCol = nb.over({s, wi}, {nb.bhMap(), nb.hMap()}, lb.zeros(loc, nb.colB, nb.batch),
                              nb.bMap(), {IT::parallel, IT::reduction},
                              [](OpBuilder &b, Location l, ValueRange s) {
                                return SmallVector<Value>{fma(b, l, s[2], s[0], s[1], true)};
                              })[0];
        next.push_back(nb.insertColumn(dxCol, carried[4], i));
      }
      // dV[d] = sum_b g_d h_d; then s += g_d V[d] h_d (1 - h_d), in place.
      Value dvRow = nb.over({gi, hd}, {nb.bMap(), nb.bhMap()}, lb.zeros(loc, nb.rowH, {}),
                            nb.hMap(), {IT::reduction, IT::parallel},
                            [](OpBuilder &b, Location l, ValueRange s) {
                              return SmallVector<Value>{fma(b, l, s[2], s[0], s[1], false)};
                            })[0];
      next[3] = nb.insertRow(dvRow, dv, i);
      next[1] = nb.over({gi, vi, hd}, {nb.bMap(), nb.hMap(), nb.bhMap()}, s, nb.bhMap(),
                        {IT::parallel, IT::parallel},
                        [](OpBuilder &b, Location l, ValueRange s) {
                          Value one = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(1.0f));
                          Value slope = b.create<arith::MulFOp>(
                              l, s[2], b.create<arith::SubFOp>(l, one, s[2]));
                          Value up = b.create<arith::MulFOp>(
                              l, b.create<arith::MulFOp>(l, s[0], s[1]), slope);
                          return SmallVector<Value>{b.create<arith::AddFOp>(l, s[3], up)};
                        })[0];
      rw.create<scf::YieldOp>(loc, next);
    }
    ValueRange out = loop.getResults();
    Value dx = wantDx ? out[4] : lb.zeros(loc, LinalgBuilder::type(x), nb.batch);
    Value dw = rw.create<linalg::TransposeOp>(loc, out[2], lb.empty(loc, op.getDW().getType(), {}),
                                              ArrayRef<int64_t>{1, 0})
                   .getResult()[0];
    Value dc = lb.reduce(loc, out[1], {0}, op.getDC().getType());
    Value db = lb.reduce(loc, g, {0}, op.getDB().getType());
    rw.replaceOp(op, ValueRange{dx, dw, dc, out[3], db});
    return success();
  }
};

} // namespace

void mlir::gm::populateAutoregressivePatterns(TypeConverter &converter,
                                              RewritePatternSet &patterns) {
  patterns.add<NadeLowering, NadeGradLowering, ArSampleLowering>(converter,
                                                                 patterns.getContext());
}
