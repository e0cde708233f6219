//===- LinalgBuilder.cpp - building blocks of the gm-to-linalg patterns ---===//

#include "dialects/GM/Conversion/GMToLinalg/LinalgBuilder.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gm;

Value LinalgBuilder::index(Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value LinalgBuilder::f32c(Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr((float)v));
}

Value LinalgBuilder::dim(Location loc, Value t, int64_t i) {
  if (!type(t).isDynamicDim(i))
    return index(loc, type(t).getDimSize(i));
  return b.create<tensor::DimOp>(loc, t, i);
}

SmallVector<Value> LinalgBuilder::dynamicSizes(Location loc, Value t) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < type(t).getRank(); ++i)
    if (type(t).isDynamicDim(i))
      out.push_back(dim(loc, t, i));
  return out;
}

SmallVector<OpFoldResult> LinalgBuilder::sizesOf(Location loc, Value x) {
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type(x).getRank(); ++i)
    out.push_back(type(x).isDynamicDim(i) ? OpFoldResult(dim(loc, x, i))
                                          : OpFoldResult(b.getIndexAttr(type(x).getDimSize(i))));
  return out;
}

Value LinalgBuilder::empty(Location loc, RankedTensorType t, ValueRange dyn) {
  return b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType(), dyn);
}

Value LinalgBuilder::zeros(Location loc, RankedTensorType t, ValueRange dyn) {
  return b.create<linalg::FillOp>(loc, f32c(loc, 0.0), empty(loc, t, dyn)).getResult(0);
}

Value LinalgBuilder::scalarOf(Location loc, Value t) {
  return b.create<tensor::ExtractOp>(loc, t, ValueRange{});
}

Value LinalgBuilder::countOf(Location loc, Value x, ArrayRef<int64_t> axes) {
  Value n = index(loc, 1);
  for (int64_t a : axes)
    n = b.create<arith::MulIOp>(loc, n, dim(loc, x, a));
  Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), n);
  return b.create<arith::SIToFPOp>(loc, f32(), i64);
}

SmallVector<Value> LinalgBuilder::generic(Location loc, RankedTensorType outType, ValueRange dyn,
                                          ValueRange ins, ArrayRef<AffineMap> inMaps,
                                          unsigned numOuts, MultiBodyFn body) {
  int64_t rank = outType.getRank();
  SmallVector<AffineMap> maps;
  for (auto [i, in] : llvm::enumerate(ins))
    maps.push_back(inMaps.empty() ? b.getMultiDimIdentityMap(rank) : inMaps[i]);
  SmallVector<Value> outs;
  for (unsigned i = 0; i < numOuts; ++i) {
    outs.push_back(empty(loc, outType, dyn));
    maps.push_back(b.getMultiDimIdentityMap(rank));
  }
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange(SmallVector<Type>(numOuts, outType)), ins, outs, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        nb.create<linalg::YieldOp>(l, body(nb, l, args));
      });
  return SmallVector<Value>(op.getResults());
}

Value LinalgBuilder::generic1(Location loc, RankedTensorType outType, ValueRange dyn,
                              ValueRange ins, ArrayRef<AffineMap> inMaps, BodyFn body) {
  return generic(loc, outType, dyn, ins, inMaps, 1,
                 [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
                   return {body(nb, l, a)};
                 })[0];
}

Value LinalgBuilder::elementwise(Location loc, RankedTensorType outType, ValueRange ins,
                                 BodyFn body) {
  int64_t rank = outType.getRank();
  Value shapeRef;
  SmallVector<AffineMap> maps;
  for (Value in : ins) {
    if (type(in).getRank() == rank) {
      maps.push_back(b.getMultiDimIdentityMap(rank));
      shapeRef = shapeRef ? shapeRef : in;
    } else {
      maps.push_back(AffineMap::get(rank, 0, {}, b.getContext()));
    }
  }
  SmallVector<Value> dyn = shapeRef ? dynamicSizes(loc, shapeRef) : SmallVector<Value>();
  return generic1(loc, outType, dyn, ins, maps, body);
}

SmallVector<Value> LinalgBuilder::update(Location loc, ValueRange ins, ValueRange inouts,
                                         MultiBodyFn body) {
  int64_t rank = type(inouts[0]).getRank();
  SmallVector<AffineMap> maps(ins.size() + inouts.size(), b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  SmallVector<Type> types;
  for (Value v : inouts)
    types.push_back(v.getType());
  auto g = b.create<linalg::GenericOp>(loc, types, ins, inouts, maps, iters,
                                       [&](OpBuilder &nb, Location l, ValueRange args) {
                                         nb.create<linalg::YieldOp>(l, body(nb, l, args));
                                       });
  return SmallVector<Value>(g.getResults());
}

Value LinalgBuilder::reduce(Location loc, Value x, ArrayRef<int64_t> axes,
                            RankedTensorType outType) {
  int64_t rank = type(x).getRank();
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < rank; ++i) {
    if (llvm::is_contained(axes, i)) {
      iters.push_back(utils::IteratorType::reduction);
      continue;
    }
    iters.push_back(utils::IteratorType::parallel);
    outExprs.push_back(b.getAffineDimExpr(i));
    if (type(x).isDynamicDim(i))
      dyn.push_back(dim(loc, x, i));
  }
  Value init = zeros(loc, outType, dyn);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, outExprs, b.getContext())};
  return b
      .create<linalg::GenericOp>(
          loc, TypeRange{outType}, ValueRange{x}, ValueRange{init}, maps, iters,
          [](OpBuilder &nb, Location l, ValueRange a) {
            nb.create<linalg::YieldOp>(
                l, ValueRange{
                       nb.create<arith::AddFOp>(l, a[0], a[1], arith::FastMathFlags::reassoc)});
          })
      .getResult(0);
}

Value LinalgBuilder::reduceMax(Location loc, Value x, int64_t axis) {
  int64_t rank = type(x).getRank();
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  SmallVector<int64_t> shape;
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis) {
      iters.push_back(utils::IteratorType::reduction);
      continue;
    }
    iters.push_back(utils::IteratorType::parallel);
    outExprs.push_back(b.getAffineDimExpr(i));
    shape.push_back(type(x).getDimSize(i));
    if (type(x).isDynamicDim(i))
      dyn.push_back(dim(loc, x, i));
  }
  auto outType = RankedTensorType::get(shape, f32());
  Value init =
      b.create<linalg::FillOp>(loc, f32c(loc, -INFINITY), empty(loc, outType, dyn)).getResult(0);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, outExprs, b.getContext())};
  return b
      .create<linalg::GenericOp>(loc, TypeRange{outType}, ValueRange{x}, ValueRange{init}, maps,
                                 iters,
                                 [](OpBuilder &nb, Location l, ValueRange a) {
                                   nb.create<linalg::YieldOp>(
                                       l, ValueRange{nb.create<arith::MaximumFOp>(l, a[0], a[1])});
                                 })
      .getResult(0);
}

Value LinalgBuilder::softmax(Location loc, Value x, int64_t axis, bool log) {
  // x - m - log sum exp(x - m), m the maximum along |axis|.
  RankedTensorType t = type(x);
  int64_t rank = t.getRank();
  SmallVector<AffineExpr> dropped;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      dropped.push_back(b.getAffineDimExpr(i));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap drop = AffineMap::get(rank, 0, dropped, b.getContext());
  Value m = reduceMax(loc, x, axis);
  SmallVector<Value> dyn = dynamicSizes(loc, x);
  Value e = generic1(loc, t, dyn, {x, m}, {id, drop},
                     [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       return nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]));
                     });
  auto sumType = cast<RankedTensorType>(m.getType());
  Value sum = reduce(loc, e, {axis}, sumType);
  return generic1(loc, t, dyn, {x, m, sum}, {id, drop, drop},
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value ls = nb.create<arith::SubFOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]),
                                                        nb.create<math::LogOp>(l, a[2]));
                    return log ? ls : nb.create<math::ExpOp>(l, ls).getResult();
                  });
}

Value LinalgBuilder::reshape(Location loc, Value x, RankedTensorType to) {
  RankedTensorType from = type(x);
  if (from == to)
    return x;
  Value flat = x;
  auto flatType = RankedTensorType::get(
      {from.hasStaticShape() ? from.getNumElements() : ShapedType::kDynamic}, f32());
  if (from.getRank() == 0) {
    flatType = RankedTensorType::get({1}, f32());
    flat = b.create<tensor::ExpandShapeOp>(loc, flatType, x, ArrayRef<ReassociationIndices>{},
                                           ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  } else if (from.getRank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < from.getRank(); ++i)
      all.push_back(i);
    flat = b.create<tensor::CollapseShapeOp>(loc, flatType, x, ArrayRef<ReassociationIndices>{all});
  }
  if (to.getRank() == 0)
    return b.create<tensor::CollapseShapeOp>(loc, to, flat, ArrayRef<ReassociationIndices>{});
  if (to.getRank() == 1 && to == flatType)
    return flat;
  // Target sizes: static ones as written, the one dynamic size from the
  // element count.
  int64_t staticProduct = 1;
  for (int64_t d : to.getShape())
    if (!ShapedType::isDynamic(d))
      staticProduct *= d;
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : to.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      sizes.push_back(b.getIndexAttr(d));
      continue;
    }
    Value n = dim(loc, flat, 0);
    sizes.push_back(b.create<arith::DivUIOp>(loc, n, index(loc, staticProduct)).getResult());
  }
  ReassociationIndices all;
  for (int64_t i = 0; i < to.getRank(); ++i)
    all.push_back(i);
  return b.create<tensor::ExpandShapeOp>(loc, to, flat, ArrayRef<ReassociationIndices>{all}, sizes);
}

Value LinalgBuilder::slice(Location loc, Value x, int64_t axis, int64_t start, int64_t size) {
  int64_t rank = type(x).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes = sizesOf(loc, x),
      strides(rank, b.getIndexAttr(1));
  offsets[axis] = b.getIndexAttr(start);
  sizes[axis] = b.getIndexAttr(size);
  SmallVector<int64_t> shape(type(x).getShape());
  shape[axis] = size;
  return b.create<tensor::ExtractSliceOp>(loc, RankedTensorType::get(shape, f32()), x, offsets,
                                          sizes, strides);
}

Value LinalgBuilder::prefixSum(Location loc, Value p, bool inclusive) {
  RankedTensorType t = type(p);
  int64_t rank = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> in, out;
  for (int64_t i = 0; i + 1 < rank; ++i) {
    in.push_back(getAffineDimExpr(i, ctx));
    out.push_back(getAffineDimExpr(i, ctx));
  }
  in.push_back(getAffineDimExpr(rank, ctx));       // j'
  out.push_back(getAffineDimExpr(rank - 1, ctx));  // j
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Value init = zeros(loc, t, dynamicSizes(loc, p));
  return b
      .create<linalg::GenericOp>(
          loc, TypeRange{t}, ValueRange{p}, ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(rank + 1, 0, in, ctx),
                              AffineMap::get(rank + 1, 0, out, ctx)},
          iters,
          [&](OpBuilder &nb, Location l, ValueRange a) {
            Value j = nb.create<linalg::IndexOp>(l, rank - 1);
            Value jp = nb.create<linalg::IndexOp>(l, rank);
            Value take = nb.create<arith::CmpIOp>(
                l, inclusive ? arith::CmpIPredicate::ule : arith::CmpIPredicate::ult, jp, j);
            Value zero = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.0f));
            Value term = nb.create<arith::SelectOp>(l, take, a[0], zero);
            nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[1], term)});
          })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Random numbers
//===----------------------------------------------------------------------===//

void mlir::gm::philox(OpBuilder &nb, Location l, Value index64, Value key64, int64_t stream,
                      Value out[4]) {
  Type i32 = nb.getI32Type(), i64 = nb.getI64Type();
  auto c32 = [&](uint32_t v) {
    return nb.create<arith::ConstantOp>(l, nb.getI32IntegerAttr((int32_t)v)).getResult();
  };
  auto c64 = [&](int64_t v) {
    return nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(v)).getResult();
  };
  auto lo = [&](Value v) { return nb.create<arith::TruncIOp>(l, i32, v).getResult(); };
  auto hi = [&](Value v) { return lo(nb.create<arith::ShRUIOp>(l, v, c64(32))); };
  Value c0 = lo(index64), c1 = hi(index64), c2 = c32((uint32_t)stream), c3 = c32(0);
  Value k0 = lo(key64), k1 = hi(key64);
  Value m0 = c64(0xD2511F53u), m1 = c64(0xCD9E8D57u);
  for (int round = 0; round < 10; ++round) {
    Value p0 = nb.create<arith::MulIOp>(l, m0, nb.create<arith::ExtUIOp>(l, i64, c0));
    Value p1 = nb.create<arith::MulIOp>(l, m1, nb.create<arith::ExtUIOp>(l, i64, c2));
    Value n0 = nb.create<arith::XOrIOp>(l, nb.create<arith::XOrIOp>(l, hi(p1), c1), k0);
    Value n2 = nb.create<arith::XOrIOp>(l, nb.create<arith::XOrIOp>(l, hi(p0), c3), k1);
    c1 = lo(p1);
    c3 = lo(p0);
    c0 = n0;
    c2 = n2;
    k0 = nb.create<arith::AddIOp>(l, k0, c32(0x9E3779B9u));
    k1 = nb.create<arith::AddIOp>(l, k1, c32(0xBB67AE85u));
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

Value mlir::gm::wordToUnit(OpBuilder &nb, Location l, Value w) {
  Type f64 = nb.getF64Type();
  Value d = nb.create<arith::UIToFPOp>(l, f64, w);
  Value half = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(0.5));
  Value inv = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(1.0 / 4294967296.0));
  return nb.create<arith::MulFOp>(l, nb.create<arith::AddFOp>(l, d, half), inv);
}

Value mlir::gm::standardNormal(OpBuilder &nb, Location l, Value words[4]) {
  Value u1 = wordToUnit(nb, l, words[0]), u2 = wordToUnit(nb, l, words[1]);
  Value m2 = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(-2.0));
  Value r = nb.create<math::SqrtOp>(l, nb.create<arith::MulFOp>(l, m2, nb.create<math::LogOp>(l, u1)));
  Value twoPi = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(6.283185307179586));
  Value c = nb.create<math::CosOp>(l, nb.create<arith::MulFOp>(l, twoPi, u2));
  return nb.create<arith::TruncFOp>(l, nb.getF32Type(), nb.create<arith::MulFOp>(l, r, c));
}

Value mlir::gm::flatIndex(OpBuilder &nb, Location l, ArrayRef<Value> sizes) {
  Value flat = nb.create<arith::ConstantIndexOp>(l, 0);
  for (auto [d, size] : llvm::enumerate(sizes)) {
    flat = nb.create<arith::MulIOp>(l, flat, size);
    flat = nb.create<arith::AddIOp>(l, flat, nb.create<linalg::IndexOp>(l, d));
  }
  return nb.create<arith::IndexCastOp>(l, nb.getI64Type(), flat);
}

Value mlir::gm::softplus(OpBuilder &nb, Location l, Value x) {
  Value zero = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.0f));
  Value pos = nb.create<arith::SelectOp>(
      l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero), x, zero);
  Value negAbs = nb.create<arith::NegFOp>(l, nb.create<math::AbsFOp>(l, x));
  return nb.create<arith::AddFOp>(
      l, pos, nb.create<math::Log1pOp>(l, nb.create<math::ExpOp>(l, negAbs)));
}
