//===- GMToLinalg.cpp - gm entry points to linalg on tensors --------------===//
//
// Lowers each gm.func marked `gm.entry` into a func.func with the artifact
// ABI (runtime/include/gmrt/abi.h, docs/codegen.md) whose body is linalg,
// tensor, arith and math on tensors, ready for one-shot bufferization.
//
// The lowering walks the entry's body once, in order, and builds upstream
// ops for each gm op, keeping a map from gm values to lowered tensors. Shapes
// are those of the gm types: a `?` is the batch dimension and is read with
// tensor.dim where a new tensor needs it. The model's description (state,
// data, entries and their arguments) is built as a gmrt::Manifest (the
// schema gmc and gmrun share, runtime/include/gmrt/manifest.h) and written,
// as its JSON text, to the module's `gm.manifest` attribute; code generation
// adds the target. The gm.model is erased: what remains is upstream IR only.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "dialects/GM/IR/GMOps.h"
#include "dialects/GM/Transforms/Passes.h"
#include "runtime/include/gmrt/manifest.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::gm {
#define GEN_PASS_DEF_GMTOLINALGPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;
using MultiBodyFn = function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

/// Lowers one entry function. Holds the per-entry value map.
struct EntryLowering {
  OpBuilder &b;
  ModelOp model;
  IRMapping map;
  DenseMap<StringAttr, Value> stateMemref; // parameter -> memref argument
  DenseMap<StringAttr, Value> stateTensor; // parameter -> its one to_tensor
  Operation *unsupported = nullptr;        // the op with no lowering

  EntryLowering(OpBuilder &b, ModelOp model) : b(b), model(model) {}

  static RankedTensorType type(Value v) { return cast<RankedTensorType>(v.getType()); }
  Type f32() { return b.getF32Type(); }

  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value index(Location loc, int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32c(Location loc, double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr((float)v));
  }

  /// Size |i| of tensor |t| as an index value.
  Value dim(Location loc, Value t, int64_t i) {
    if (!type(t).isDynamicDim(i))
      return index(loc, type(t).getDimSize(i));
    return b.create<tensor::DimOp>(loc, t, i);
  }
  /// The dynamic sizes of |t|, for a tensor.empty of the same shape.
  SmallVector<Value> dynamicSizes(Location loc, Value t) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < type(t).getRank(); ++i)
      if (type(t).isDynamicDim(i))
        out.push_back(dim(loc, t, i));
    return out;
  }
  Value empty(Location loc, RankedTensorType t, ValueRange dyn) {
    return b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType(), dyn);
  }
  Value zeros(Location loc, RankedTensorType t, ValueRange dyn) {
    Value e = empty(loc, t, dyn);
    return b.create<linalg::FillOp>(loc, f32c(loc, 0.0), e).getResult(0);
  }
  /// The element of a rank-0 tensor, for use inside a generic's body.
  Value scalarOf(Location loc, Value t) {
    return b.create<tensor::ExtractOp>(loc, t, ValueRange{});
  }

  /// A parallel linalg.generic over |outType| (dynamic sizes |dyn|) reading
  /// |ins| through |inMaps| (identity when empty), writing |numOuts| results
  /// of |outType|.
  SmallVector<Value> generic(Location loc, RankedTensorType outType, ValueRange dyn,
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
  Value generic1(Location loc, RankedTensorType outType, ValueRange dyn, ValueRange ins,
                 ArrayRef<AffineMap> inMaps, BodyFn body) {
    return generic(loc, outType, dyn, ins, inMaps, 1,
                   [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
                     return {body(nb, l, a)};
                   })[0];
  }

  /// Elementwise over same-shaped operands (rank-0 operands broadcast).
  Value elementwise(Operation *op, ValueRange ins, BodyFn body) {
    auto outType = cast<RankedTensorType>(op->getResult(0).getType());
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
    SmallVector<Value> dyn = shapeRef ? dynamicSizes(op->getLoc(), shapeRef) : SmallVector<Value>();
    return generic1(op->getLoc(), outType, dyn, ins, maps, body);
  }

  Value lookup(Value v) { return map.lookup(v); }

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  LogicalResult lower(Operation *op);
  /// An elementwise generic reading |ins| and updating |inouts| (its outs:
  /// the body sees ins then the current values of inouts).
  SmallVector<Value> update(Operation *op, ValueRange ins, ValueRange inouts, MultiBodyFn body) {
    auto t = type(inouts[0]);
    int64_t rank = t.getRank();
    SmallVector<AffineMap> maps(ins.size() + inouts.size(), b.getMultiDimIdentityMap(rank));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    SmallVector<Type> types;
    for (Value v : inouts)
      types.push_back(v.getType());
    auto g = b.create<linalg::GenericOp>(
        op->getLoc(), types, ins, inouts, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          nb.create<linalg::YieldOp>(l, body(nb, l, args));
        });
    return SmallVector<Value>(g.getResults());
  }
  Value broadcast(BroadcastOp op);
  Value reduce(Location loc, Value x, ArrayRef<int64_t> axes, RankedTensorType outType);
  Value reshape(Location loc, Value x, RankedTensorType to);
  Value matmul(MatmulOp op);
  Value reduceMax(Location loc, Value x, int64_t axis);
  Value softmax(Location loc, Value x, int64_t axis, bool log);
  SmallVector<OpFoldResult> sizesOf(Location loc, Value x);
  Value slice(Location loc, Value x, int64_t axis, int64_t start, int64_t size);
  Value concat(Location loc, ValueRange xs, int64_t axis, RankedTensorType outType);
  Value shift(Location loc, Value x, int64_t axis, int64_t amount);
  Value reconLoss(ReconLossOp op);
  Value pool(Location loc, Value x, int64_t f, bool up, RankedTensorType outType);
  Value spread(Location loc, Value x, int64_t top, int64_t left, int64_t bottom, int64_t right,
               int64_t dilation);
  Value im2col(Location loc, Value xp, int64_t kh, int64_t kw, int64_t oh, int64_t ow,
               int64_t sh, int64_t sw);
  Value conv(Location loc, Value xp, Value w, Value bias, int64_t sh, int64_t sw,
             RankedTensorType outType);
  Value convWeightGrad(Location loc, Value xp, Value g, int64_t sh, int64_t sw,
                       RankedTensorType outType);
  Value linear(LinearOp op);
  Value sampleNormal(SampleOp op, NormalOp dist);
  Value normalDraw(Location loc, Value mean, Value spread, bool logvar, Value key,
                   int64_t stream, Value offset);
  LogicalResult iwae(IwaeOp op);
  Value iwaeK; // tensor<f32>: the number of draws of gm.iwae, an argument
  Value sampleUniform(SampleOp op, UniformOp dist);
  Value sampleCategorical(SampleOp op, CategoricalOp dist);
  Value prefixSum(Location loc, Value p, bool inclusive);
};

//===----------------------------------------------------------------------===//
// Random numbers: Philox4x32-10 as in runtime/include/gmrt/rng.h
//===----------------------------------------------------------------------===//

/// The 4 words of Philox4x32-10 for counter (lo(index), hi(index), stream, 0)
/// and key (lo(key), hi(key)); arithmetic on i32 with 64-bit products.
void philox(OpBuilder &nb, Location l, Value index64, Value key64, int64_t stream,
            Value out[4]) {
  Type i32 = nb.getI32Type(), i64 = nb.getI64Type();
  auto c32 = [&](uint32_t v) {
    return nb.create<arith::ConstantOp>(l, nb.getI32IntegerAttr((int32_t)v)).getResult();
  };
  auto c64 = [&](int64_t v) {
    return nb.create<arith::ConstantOp>(l, nb.getI64IntegerAttr(v)).getResult();
  };
  auto lo = [&](Value v) { return nb.create<arith::TruncIOp>(l, i32, v).getResult(); };
  auto hi = [&](Value v) {
    return lo(nb.create<arith::ShRUIOp>(l, v, c64(32)));
  };
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

/// softplus(x) = max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
Value softplus(OpBuilder &nb, Location l, Value x) {
  Value zero = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.0f));
  Value pos = nb.create<arith::SelectOp>(
      l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero), x, zero);
  Value negAbs = nb.create<arith::NegFOp>(l, nb.create<math::AbsFOp>(l, x));
  return nb.create<arith::AddFOp>(l, pos, nb.create<math::Log1pOp>(l, nb.create<math::ExpOp>(l, negAbs)));
}

/// (w + 0.5) / 2^32 in f64: a uniform draw in (0, 1), as gmrt_word_to_unit.
Value wordToUnit(OpBuilder &nb, Location l, Value w) {
  Type f64 = nb.getF64Type();
  Value d = nb.create<arith::UIToFPOp>(l, f64, w);
  Value half = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(0.5));
  Value inv = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(1.0 / 4294967296.0));
  return nb.create<arith::MulFOp>(l, nb.create<arith::AddFOp>(l, d, half), inv);
}

/// The row-major flat index of the current element of a generic over a
/// tensor with sizes |sizes|.
Value flatIndex(OpBuilder &nb, Location l, ArrayRef<Value> sizes) {
  Value flat = nb.create<arith::ConstantIndexOp>(l, 0);
  for (auto [d, size] : llvm::enumerate(sizes)) {
    flat = nb.create<arith::MulIOp>(l, flat, size);
    flat = nb.create<arith::AddIOp>(l, flat, nb.create<linalg::IndexOp>(l, d));
  }
  return nb.create<arith::IndexCastOp>(l, nb.getI64Type(), flat);
}

//===----------------------------------------------------------------------===//
// Op by op
//===----------------------------------------------------------------------===//

Value EntryLowering::broadcast(BroadcastOp op) {
  // numpy alignment: source dim i is result dim i + (rank - srcRank); a size
  // 1 source dim against a larger result dim is read at 0.
  Value in = lookup(op.getInput());
  RankedTensorType src = type(in), dst = op.getType();
  int64_t offset = dst.getRank() - src.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < src.getRank(); ++i) {
    bool stretch = src.getDimSize(i) == 1 && dst.getDimSize(i + offset) != 1;
    exprs.push_back(stretch ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(i + offset));
  }
  AffineMap m = AffineMap::get(dst.getRank(), 0, exprs, b.getContext());
  SmallVector<Value> dyn;
  for (Value s : op.getDynamicSizes())
    dyn.push_back(lookup(s));
  return generic1(op.getLoc(), dst, dyn, in, m,
                  [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

Value EntryLowering::reduce(Location loc, Value x, ArrayRef<int64_t> axes,
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
            // Reassociable, so LLVM vectorises the sum (in a fixed order:
            // results are still deterministic).
            nb.create<linalg::YieldOp>(
                l, ValueRange{nb.create<arith::AddFOp>(l, a[0], a[1], arith::FastMathFlags::reassoc)});
          })
      .getResult(0);
}

Value EntryLowering::reshape(Location loc, Value x, RankedTensorType to) {
  // Through one flat dimension: collapse everything, expand to the target.
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

Value EntryLowering::reduceMax(Location loc, Value x, int64_t axis) {
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
  Value init = b.create<linalg::FillOp>(loc, f32c(loc, -INFINITY), empty(loc, outType, dyn))
                   .getResult(0);
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

Value EntryLowering::softmax(Location loc, Value x, int64_t axis, bool log) {
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
  Value e = generic1(loc, t, dyn, {x, m}, {id, drop}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]));
  });
  auto sumType = cast<RankedTensorType>(m.getType());
  Value sum = reduce(loc, e, {axis}, sumType);
  return generic1(loc, t, dyn, {x, m, sum}, {id, drop, drop},
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value ls = nb.create<arith::SubFOp>(
                        l, nb.create<arith::SubFOp>(l, a[0], a[1]), nb.create<math::LogOp>(l, a[2]));
                    return log ? ls : nb.create<math::ExpOp>(l, ls).getResult();
                  });
}

SmallVector<OpFoldResult> EntryLowering::sizesOf(Location loc, Value x) {
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type(x).getRank(); ++i)
    out.push_back(type(x).isDynamicDim(i) ? OpFoldResult(dim(loc, x, i))
                                          : OpFoldResult(b.getIndexAttr(type(x).getDimSize(i))));
  return out;
}

Value EntryLowering::slice(Location loc, Value x, int64_t axis, int64_t start, int64_t size) {
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

Value EntryLowering::concat(Location loc, ValueRange xs, int64_t axis, RankedTensorType outType) {
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < outType.getRank(); ++i)
    if (outType.isDynamicDim(i))
      dyn.push_back(dim(loc, xs[0], i)); // the batch: never the concatenated axis
  Value out = empty(loc, outType, dyn);
  int64_t at = 0, rank = outType.getRank();
  for (Value x : xs) {
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
    offsets[axis] = b.getIndexAttr(at);
    out = b.create<tensor::InsertSliceOp>(loc, x, out, offsets, sizesOf(loc, x), strides);
    at += type(x).getDimSize(axis);
  }
  return out;
}

Value EntryLowering::shift(Location loc, Value x, int64_t axis, int64_t amount) {
  // out[i] = x[i - amount] along |axis|, zero where that is outside.
  RankedTensorType t = type(x);
  int64_t n = t.getDimSize(axis), rank = t.getRank();
  Value out = zeros(loc, t, dynamicSizes(loc, x));
  int64_t keep = n - std::abs(amount);
  if (keep <= 0)
    return out;
  Value part = slice(loc, x, axis, amount > 0 ? 0 : -amount, keep);
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
  offsets[axis] = b.getIndexAttr(amount > 0 ? amount : 0);
  return b.create<tensor::InsertSliceOp>(loc, part, out, offsets, sizesOf(loc, part), strides);
}

Value EntryLowering::reconLoss(ReconLossOp op) {
  // Per-element error, summed per example (as the reference evaluator).
  Location loc = op.getLoc();
  Value p = lookup(op.getPrediction()), t = lookup(op.getTarget());
  RankedTensorType pt = type(p);
  SmallVector<Value> dyn = dynamicSizes(loc, p);
  Value e;
  LossKind kind = op.getKind();
  if (kind == LossKind::softmax_xent) {
    Value ls = softmax(loc, p, pt.getRank() - 1, /*log=*/true);
    e = generic1(loc, pt, dyn, {ls, t}, {}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return nb.create<arith::NegFOp>(l, nb.create<arith::MulFOp>(l, a[1], a[0]));
    });
  } else {
    e = generic1(loc, pt, dyn, {p, t}, {}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
      if (kind == LossKind::mse)
        return nb.create<arith::MulFOp>(l, d, d);
      if (kind == LossKind::l1)
        return nb.create<math::AbsFOp>(l, d);
      // softplus(p) - t p
      return nb.create<arith::SubFOp>(l, softplus(nb, l, a[0]), nb.create<arith::MulFOp>(l, a[1], a[0]));
    });
  }
  SmallVector<int64_t> axes;
  for (int64_t i = 1; i < pt.getRank(); ++i)
    axes.push_back(i);
  return reduce(loc, e, axes, op.getType());
}

Value EntryLowering::pool(Location loc, Value x, int64_t f, bool up, RankedTensorType outType) {
  // NCHW. upsample: out[n,c,i,j] = x[n,c,i/f,j/f]; avg_pool: the mean of
  // the f x f window at (i f, j f).
  SmallVector<Value> dyn;
  if (outType.isDynamicDim(0))
    dyn.push_back(dim(loc, x, 0));
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  if (up) {
    AffineMap in = AffineMap::get(4, 0, {d(0), d(1), d(2).floorDiv(f), d(3).floorDiv(f)}, ctx);
    return generic1(loc, outType, dyn, x, in, [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }
  Value init = zeros(loc, outType, dyn);
  AffineMap in = AffineMap::get(6, 0, {d(0), d(1), d(2) * f + d(4), d(3) * f + d(5)}, ctx);
  AffineMap out = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
  // The f x f window as an (unread) operand: it gives the reduction loops
  // their bounds, as linalg's pooling ops do.
  Value window = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{f, f}, f32());
  AffineMap win = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
  using IT = utils::IteratorType;
  float scale = 1.0f / (float)(f * f);
  return b
      .create<linalg::GenericOp>(
          loc, TypeRange{outType}, ValueRange{x, window}, ValueRange{init},
          ArrayRef<AffineMap>{in, win, out},
          ArrayRef<IT>{IT::parallel, IT::parallel, IT::parallel, IT::parallel, IT::reduction,
                       IT::reduction},
          [scale](OpBuilder &nb, Location l, ValueRange a) {
            Value s = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(scale));
            nb.create<linalg::YieldOp>(
                l, ValueRange{nb.create<arith::AddFOp>(l, a[2], nb.create<arith::MulFOp>(l, a[0], s))});
          })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Convolutions: im2col and one GEMM (the runtime's SGEMM after
// gm-matmul-to-blas), NCHW activations, FCHW kernels.
//===----------------------------------------------------------------------===//

Value EntryLowering::spread(Location loc, Value x, int64_t top, int64_t left, int64_t bottom,
                            int64_t right, int64_t dilation) {
  // x [n, c, h, w] with (dilation - 1) zeros between pixels and zero
  // borders: a zero tensor with x inserted at a stride.
  RankedTensorType t = type(x);
  if (!top && !left && !bottom && !right && dilation == 1)
    return x;
  int64_t h = t.getDimSize(2), w = t.getDimSize(3);
  auto outType = RankedTensorType::get({t.getDimSize(0), t.getDimSize(1),
                                        (h - 1) * dilation + 1 + top + bottom,
                                        (w - 1) * dilation + 1 + left + right},
                                       f32());
  SmallVector<Value> dyn;
  if (t.isDynamicDim(0))
    dyn.push_back(dim(loc, x, 0));
  Value z = zeros(loc, outType, dyn);
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(top),
                                       b.getIndexAttr(left)};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1),
                                       b.getIndexAttr(dilation), b.getIndexAttr(dilation)};
  return b.create<tensor::InsertSliceOp>(loc, x, z, offsets, sizesOf(loc, x), strides);
}

Value EntryLowering::im2col(Location loc, Value xp, int64_t kh, int64_t kw, int64_t oh,
                            int64_t ow, int64_t sh, int64_t sw) {
  // cols[n * oh * ow, c * kh * kw] = xp[n, c, i sh + di, j sw + dj].
  RankedTensorType t = type(xp);
  int64_t c = t.getDimSize(1);
  auto colsType = RankedTensorType::get({t.getDimSize(0), oh, ow, c, kh, kw}, f32());
  SmallVector<Value> dyn;
  if (t.isDynamicDim(0))
    dyn.push_back(dim(loc, xp, 0));
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap in = AffineMap::get(6, 0, {d(0), d(3), d(1) * sh + d(4), d(2) * sw + d(5)}, ctx);
  Value cols = generic1(loc, colsType, dyn, xp, in,
                        [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  int64_t rows = t.isDynamicDim(0) ? ShapedType::kDynamic : t.getDimSize(0) * oh * ow;
  return b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({rows, c * kh * kw}, f32()), cols,
      ArrayRef<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
}

Value EntryLowering::conv(Location loc, Value xp, Value w, Value bias, int64_t sh, int64_t sw,
                          RankedTensorType outType) {
  // y[n, f, i, j] = sum xp[n, c, i sh + di, j sw + dj] w[f, c, di, dj] + bias[f]
  // as cols [P, K] times w [f, K]^T, P = n oh ow, K = c kh kw.
  RankedTensorType wt = type(w);
  int64_t f = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
  int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
  Value cols = im2col(loc, xp, kh, kw, oh, ow, sh, sw);
  Value w2 = b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({f, wt.getDimSize(1) * kh * kw}, f32()), w,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  auto prodType = RankedTensorType::get({type(cols).getDimSize(0), f}, f32());
  SmallVector<Value> dyn;
  if (prodType.isDynamicDim(0))
    dyn.push_back(dim(loc, cols, 0));
  Value init = bias ? generic1(loc, prodType, dyn, bias,
                               AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext()),
                               [](OpBuilder &, Location, ValueRange a) { return a[0]; })
                    : zeros(loc, prodType, dyn);
  Value y2 = b.create<linalg::MatmulTransposeBOp>(loc, prodType, ValueRange{cols, w2}, init)
                 .getResult(0);
  // [P, f] -> [n, oh, ow, f] -> [n, f, oh, ow].
  auto nhwc = RankedTensorType::get({outType.getDimSize(0), oh, ow, f}, f32());
  SmallVector<OpFoldResult> sizes = {
      outType.isDynamicDim(0) ? OpFoldResult(dim(loc, xp, 0)) : b.getIndexAttr(outType.getDimSize(0)),
      b.getIndexAttr(oh), b.getIndexAttr(ow), b.getIndexAttr(f)};
  Value y3 = b.create<tensor::ExpandShapeOp>(loc, nhwc, y2,
                                             ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}}, sizes);
  SmallVector<Value> outDyn;
  if (outType.isDynamicDim(0))
    outDyn.push_back(dim(loc, xp, 0));
  return b
      .create<linalg::TransposeOp>(loc, y3, empty(loc, outType, outDyn),
                                   ArrayRef<int64_t>{0, 3, 1, 2})
      .getResult()[0];
}

Value EntryLowering::convWeightGrad(Location loc, Value xp, Value g, int64_t sh, int64_t sw,
                                    RankedTensorType outType) {
  // dw[f, c, di, dj] = sum_{n, i, j} g[n, f, i, j] xp[n, c, i sh + di, j sw + dj]:
  // g as [P, f] transposed times cols [P, K].
  int64_t f = outType.getDimSize(0), kh = outType.getDimSize(2), kw = outType.getDimSize(3);
  RankedTensorType gt = type(g);
  int64_t oh = gt.getDimSize(2), ow = gt.getDimSize(3);
  Value cols = im2col(loc, xp, kh, kw, oh, ow, sh, sw);
  SmallVector<Value> dyn;
  if (gt.isDynamicDim(0))
    dyn.push_back(dim(loc, g, 0));
  auto nhwc = RankedTensorType::get({gt.getDimSize(0), oh, ow, f}, f32());
  Value gT = b.create<linalg::TransposeOp>(loc, g, empty(loc, nhwc, dyn),
                                           ArrayRef<int64_t>{0, 2, 3, 1})
                 .getResult()[0];
  Value g2 = b.create<tensor::CollapseShapeOp>(
      loc, RankedTensorType::get({type(cols).getDimSize(0), f}, f32()), gT,
      ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}});
  int64_t k = outType.getDimSize(1) * kh * kw;
  auto dw2Type = RankedTensorType::get({f, k}, f32());
  Value dw2 = b.create<linalg::MatmulTransposeAOp>(loc, dw2Type, ValueRange{g2, cols},
                                                   zeros(loc, dw2Type, {}))
                  .getResult(0);
  return b.create<tensor::ExpandShapeOp>(loc, outType, dw2,
                                         ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
}

/// The source of a 2-D transpose, or null.
static Value transposedSource(Value v) {
  auto t = v.getDefiningOp<TransposeOp>();
  if (!t || t.getPermutation() != ArrayRef<int64_t>{1, 0})
    return {};
  return t.getInput();
}

Value EntryLowering::matmul(MatmulOp op) {
  Location loc = op.getLoc();
  RankedTensorType outType = op.getType();
  Value lhs = lookup(op.getLhs()), rhs = lookup(op.getRhs());
  SmallVector<Value> dyn;
  if (outType.isDynamicDim(0))
    dyn.push_back(dim(loc, lhs, 0));
  if (outType.isDynamicDim(1))
    dyn.push_back(dim(loc, rhs, 1));
  Value init = zeros(loc, outType, dyn);
  // A transposed operand is read in place: BLAS takes the flag.
  if (Value src = transposedSource(op.getLhs()))
    return b.create<linalg::MatmulTransposeAOp>(loc, outType, ValueRange{lookup(src), rhs}, init)
        .getResult(0);
  if (Value src = transposedSource(op.getRhs()))
    return b.create<linalg::MatmulTransposeBOp>(loc, outType, ValueRange{lhs, lookup(src)}, init)
        .getResult(0);
  return b.create<linalg::MatmulOp>(loc, outType, ValueRange{lhs, rhs}, init).getResult(0);
}

Value EntryLowering::linear(LinearOp op) {
  // y = x W^T + bias: the bias broadcast is the product's initial value.
  Location loc = op.getLoc();
  RankedTensorType outType = op.getType();
  Value x = lookup(op.getInput()), w = lookup(op.getWeight());
  SmallVector<Value> dyn = dynamicSizes(loc, x);
  Value init;
  if (op.getBias()) {
    AffineMap row = AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
    init = generic1(loc, outType, dyn, lookup(op.getBias()), row,
                    [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  } else {
    init = zeros(loc, outType, dyn);
  }
  return b.create<linalg::MatmulTransposeBOp>(loc, outType, ValueRange{x, w}, init).getResult(0);
}

Value EntryLowering::sampleNormal(SampleOp op, NormalOp dist) {
  return normalDraw(op.getLoc(), lookup(dist.getLoc()), lookup(dist.getSpread()),
                    dist.getParam() == NormalParam::logvar, scalarOf(op.getLoc(), lookup(op.getKey())),
                    op.getStream(), Value());
}

Value EntryLowering::normalDraw(Location loc, Value mean, Value spread, bool logvar, Value key,
                                int64_t stream, Value offset) {
  // z = loc + sigma * N(0, 1), the normal by Box-Muller on lanes 0 and 1 in
  // double precision (gmrt_normal); the counter is the element's flat index
  // plus |offset| (the k-th draw of an importance-weighted bound).
  RankedTensorType t = type(mean);
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < t.getRank(); ++i)
    sizes.push_back(dim(loc, mean, i));
  return generic1(loc, t, dynamicSizes(loc, mean), {mean, spread}, {},
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value words[4];
    Value index = flatIndex(nb, l, sizes);
    if (offset)
      index = nb.create<arith::AddIOp>(l, index, offset);
    philox(nb, l, index, key, stream, words);
    Value u1 = wordToUnit(nb, l, words[0]), u2 = wordToUnit(nb, l, words[1]);
    Value m2 = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(-2.0));
    Value r = nb.create<math::SqrtOp>(l, nb.create<arith::MulFOp>(l, m2, nb.create<math::LogOp>(l, u1)));
    Value twoPi = nb.create<arith::ConstantOp>(l, nb.getF64FloatAttr(6.283185307179586));
    Value c = nb.create<math::CosOp>(l, nb.create<arith::MulFOp>(l, twoPi, u2));
    Value eps = nb.create<arith::TruncFOp>(l, nb.getF32Type(), nb.create<arith::MulFOp>(l, r, c));
    Value sigma = a[1];
    if (logvar) {
      Value half = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(0.5f));
      sigma = nb.create<math::ExpOp>(l, nb.create<arith::MulFOp>(l, half, a[1]));
    }
    return nb.create<arith::AddFOp>(l, a[0], nb.create<arith::MulFOp>(l, sigma, eps));
  });
}

Value EntryLowering::prefixSum(Location loc, Value p, bool inclusive) {
  // out[.., j] = sum over j' < j (or <= j) of p[.., j'], summed in
  // ascending j' whichever the bound, so that the inclusive sum at j equals
  // the exclusive one at j + 1 bit for bit.
  RankedTensorType t = type(p);
  int64_t rank = t.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> in, out;
  for (int64_t i = 0; i + 1 < rank; ++i) {
    in.push_back(getAffineDimExpr(i, ctx));
    out.push_back(getAffineDimExpr(i, ctx));
  }
  in.push_back(getAffineDimExpr(rank, ctx)); // j'
  out.push_back(getAffineDimExpr(rank - 1, ctx)); // j
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

Value EntryLowering::sampleCategorical(SampleOp op, CategoricalOp dist) {
  // One-hot rows: with u from lane 2 of the row's counter, the first class
  // whose cumulative probability exceeds u (the last if rounding leaves u
  // above them all), as the reference evaluator.
  Location loc = op.getLoc();
  Value logits = lookup(dist.getLogits());
  RankedTensorType t = type(logits);
  int64_t rank = t.getRank(), k = t.getDimSize(rank - 1);
  Value p = softmax(loc, logits, rank - 1, /*log=*/false);
  Value excl = prefixSum(loc, p, false), incl = prefixSum(loc, p, true);
  Value key = scalarOf(loc, lookup(op.getKey()));
  int64_t stream = op.getStream();
  SmallVector<Value> rowSizes;
  for (int64_t i = 0; i + 1 < rank; ++i)
    rowSizes.push_back(dim(loc, logits, i));
  return generic1(loc, t, dynamicSizes(loc, logits), {excl, incl}, {},
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    // The row's flat index: every dimension but the last.
    Value row = nb.create<arith::ConstantIndexOp>(l, 0);
    for (auto [d, size] : llvm::enumerate(rowSizes)) {
      row = nb.create<arith::MulIOp>(l, row, size);
      row = nb.create<arith::AddIOp>(l, row, nb.create<linalg::IndexOp>(l, d));
    }
    Value words[4];
    philox(nb, l, nb.create<arith::IndexCastOp>(l, nb.getI64Type(), row), key, stream, words);
    Value u = wordToUnit(nb, l, words[2]);
    Type f64 = nb.getF64Type();
    Value lo = nb.create<arith::ExtFOp>(l, f64, a[0]), hi = nb.create<arith::ExtFOp>(l, f64, a[1]);
    Value j = nb.create<linalg::IndexOp>(l, rank - 1);
    Value last = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, j,
                                          nb.create<arith::ConstantIndexOp>(l, k - 1));
    Value above = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGE, u, lo);
    Value below = nb.create<arith::OrIOp>(
        l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, u, hi), last);
    Value pick = nb.create<arith::AndIOp>(l, above, below);
    return nb.create<arith::UIToFPOp>(l, nb.getF32Type(), pick);
  });
}

LogicalResult EntryLowering::iwae(IwaeOp op) {
  // log (1/k) sum_j w_j with z_j ~ q: a loop over the k draws keeping a
  // running maximum m and sum s of exp(log w - m) per example, so k is a
  // run-time argument and memory does not grow with it.
  auto q = op.getQ().getDefiningOp<NormalOp>();
  if (!q || !op.getLogWeight() || !iwaeK)
    return unsupported = op, failure();
  Location loc = op.getLoc();
  Value mean = lookup(q.getLoc()), spread = lookup(q.getSpread());
  Value key = scalarOf(loc, lookup(op.getKey()));
  RankedTensorType outType = op.getType();
  SmallVector<Value> dyn = {dim(loc, mean, 0)};
  Value numel = index(loc, 1);
  for (int64_t i = 0; i < type(mean).getRank(); ++i)
    numel = b.create<arith::MulIOp>(loc, numel, dim(loc, mean, i));
  Value numel64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), numel);
  Value kf = scalarOf(loc, iwaeK);
  Value kIdx = b.create<arith::IndexCastOp>(
      loc, b.getIndexType(), b.create<arith::FPToSIOp>(loc, b.getI64Type(), kf));
  Value negInf = f32c(loc, -INFINITY);
  Value m0 = b.create<linalg::FillOp>(loc, negInf, empty(loc, outType, dyn)).getResult(0);
  Value s0 = zeros(loc, outType, dyn);
  auto loop = b.create<scf::ForOp>(loc, index(loc, 0), kIdx, index(loc, 1), ValueRange{m0, s0});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), loop.getInductionVar());
    Value offset = b.create<arith::MulIOp>(loc, j64, numel64);
    Value z = normalDraw(loc, mean, spread, q.getParam() == NormalParam::logvar, key,
                         op.getStream(), offset);
    Block &body = op.getBody().front();
    map.map(body.getArgument(0), z);
    for (Operation &inner : body.without_terminator())
      if (failed(lower(&inner)))
        return failure();
    Value lw = lookup(body.getTerminator()->getOperand(0));
    Value m = loop.getRegionIterArgs()[0], s = loop.getRegionIterArgs()[1];
    // Updated in place: the loop carries the two buffers.
    AffineMap id = b.getMultiDimIdentityMap(1);
    auto update = b.create<linalg::GenericOp>(
        loc, TypeRange{outType, outType}, ValueRange{lw}, ValueRange{m, s},
        ArrayRef<AffineMap>{id, id, id}, ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
        [](OpBuilder &nb, Location l, ValueRange a) {
          // a = (log w, m, s)
          Value nm = nb.create<arith::MaximumFOp>(l, a[1], a[0]);
          Value scaled = nb.create<arith::MulFOp>(
              l, a[2], nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[1], nm)));
          Value ns = nb.create<arith::AddFOp>(
              l, scaled, nb.create<math::ExpOp>(l, nb.create<arith::SubFOp>(l, a[0], nm)));
          nb.create<linalg::YieldOp>(l, ValueRange{nm, ns});
        });
    SmallVector<Value> r(update.getResults());
    b.create<scf::YieldOp>(loc, r);
  }
  Value logK = b.create<math::LogOp>(loc, kf);
  map.map(op.getResult(), generic1(loc, outType, dyn, loop.getResults(), {},
                                   [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                     Value lse = nb.create<arith::AddFOp>(l, a[0], nb.create<math::LogOp>(l, a[1]));
                                     return nb.create<arith::SubFOp>(l, lse, logK);
                                   }));
  return success();
}

Value EntryLowering::sampleUniform(SampleOp op, UniformOp dist) {
  // lo + (hi - lo) u with u from lane 2, as the reference evaluator.
  Location loc = op.getLoc();
  Value lo = lookup(dist.getLow()), hi = lookup(dist.getHigh());
  Value key = scalarOf(loc, lookup(op.getKey()));
  RankedTensorType t = op.getType();
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < t.getRank(); ++i)
    sizes.push_back(dim(loc, lo, i));
  int64_t stream = op.getStream();
  return elementwise(op, {lo, hi}, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value words[4];
    philox(nb, l, flatIndex(nb, l, sizes), key, stream, words);
    Value u = nb.create<arith::TruncFOp>(l, nb.getF32Type(), wordToUnit(nb, l, words[2]));
    Value width = nb.create<arith::SubFOp>(l, a[1], a[0]);
    return nb.create<arith::AddFOp>(l, a[0], nb.create<arith::MulFOp>(l, width, u));
  });
}

LogicalResult EntryLowering::lower(Operation *op) {
  Location loc = op->getLoc();
  auto set = [&](Value gmValue, Value lowered) { map.map(gmValue, lowered); };
  auto unary = [&](Operation *o, function_ref<Value(OpBuilder &, Location, Value)> f) {
    set(o->getResult(0), elementwise(o, lookup(o->getOperand(0)),
                                     [&](OpBuilder &nb, Location l, ValueRange a) {
                                       return f(nb, l, a[0]);
                                     }));
    return success();
  };
  auto binary = [&](Operation *o, function_ref<Value(OpBuilder &, Location, Value, Value)> f) {
    set(o->getResult(0),
        elementwise(o, {lookup(o->getOperand(0)), lookup(o->getOperand(1))},
                    [&](OpBuilder &nb, Location l, ValueRange a) { return f(nb, l, a[0], a[1]); }));
    return success();
  };
  auto cst = [](OpBuilder &nb, Location l, double v) {
    return nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr((float)v)).getResult();
  };

  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](ParamRefOp o) {
        set(o, stateTensor.lookup(o.getNameAttr().getAttr()));
        return success();
      })
      .Case([&](ConstantOp o) {
        set(o, b.create<arith::ConstantOp>(loc, cast<TypedAttr>(o.getValue())));
        return success();
      })
      .Case([&](BatchSizeOp o) {
        set(o, dim(loc, lookup(o.getInput()), 0));
        return success();
      })
      .Case([&](SizeOp o) {
        Value x = lookup(o.getInput());
        Value n = index(loc, 1);
        for (int64_t a : o.getAxes())
          n = b.create<arith::MulIOp>(loc, n, dim(loc, x, a));
        Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), n);
        Value f = b.create<arith::SIToFPOp>(loc, f32(), i64);
        set(o, b.create<tensor::FromElementsOp>(loc, o.getType(), ValueRange{f}));
        return success();
      })
      .Case([&](BroadcastOp o) {
        set(o, broadcast(o));
        return success();
      })
      .Case([&](AddOp o) { return binary(o, [](OpBuilder &nb, Location l, Value x, Value y) { return nb.create<arith::AddFOp>(l, x, y).getResult(); }); })
      .Case([&](SubOp o) { return binary(o, [](OpBuilder &nb, Location l, Value x, Value y) { return nb.create<arith::SubFOp>(l, x, y).getResult(); }); })
      .Case([&](MulOp o) { return binary(o, [](OpBuilder &nb, Location l, Value x, Value y) { return nb.create<arith::MulFOp>(l, x, y).getResult(); }); })
      .Case([&](DivOp o) { return binary(o, [](OpBuilder &nb, Location l, Value x, Value y) { return nb.create<arith::DivFOp>(l, x, y).getResult(); }); })
      .Case([&](NegOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<arith::NegFOp>(l, x).getResult(); }); })
      .Case([&](ExpOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<math::ExpOp>(l, x).getResult(); }); })
      .Case([&](LogOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<math::LogOp>(l, x).getResult(); }); })
      .Case([&](SqrtOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<math::SqrtOp>(l, x).getResult(); }); })
      .Case([&](SquareOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<arith::MulFOp>(l, x, x).getResult(); }); })
      .Case([&](AbsOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<math::AbsFOp>(l, x).getResult(); }); })
      .Case([&](TanhOp o) { return unary(o, [](OpBuilder &nb, Location l, Value x) { return nb.create<math::TanhOp>(l, x).getResult(); }); })
      .Case([&](SigmoidOp o) {
        return unary(o, [&](OpBuilder &nb, Location l, Value x) -> Value {
          Value e = nb.create<math::ExpOp>(l, nb.create<arith::NegFOp>(l, x));
          return nb.create<arith::DivFOp>(l, cst(nb, l, 1.0), nb.create<arith::AddFOp>(l, cst(nb, l, 1.0), e));
        });
      })
      .Case([&](SoftplusOp o) { return unary(o, softplus); })
      .Case([&](LogSigmoidOp o) {
        return unary(o, [&](OpBuilder &nb, Location l, Value x) -> Value {
          return nb.create<arith::NegFOp>(l, softplus(nb, l, nb.create<arith::NegFOp>(l, x)));
        });
      })
      .Case([&](ReluOp o) {
        return unary(o, [&](OpBuilder &nb, Location l, Value x) -> Value {
          Value zero = cst(nb, l, 0.0);
          return nb.create<arith::SelectOp>(
              l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero), x, zero);
        });
      })
      .Case([&](LeakyReluOp o) {
        double alpha = o.getAlpha().convertToDouble();
        return unary(o, [&](OpBuilder &nb, Location l, Value x) -> Value {
          Value zero = cst(nb, l, 0.0);
          Value ax = nb.create<arith::MulFOp>(l, cst(nb, l, alpha), x);
          return nb.create<arith::SelectOp>(
              l, nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero), x, ax);
        });
      })
      .Case([&](SignOp o) {
        return unary(o, [&](OpBuilder &nb, Location l, Value x) -> Value {
          Value zero = cst(nb, l, 0.0);
          Value pos = nb.create<arith::UIToFPOp>(l, nb.getF32Type(),
              nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, zero));
          Value neg = nb.create<arith::UIToFPOp>(l, nb.getF32Type(),
              nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, x, zero));
          return nb.create<arith::SubFOp>(l, pos, neg);
        });
      })
      .Case([&](StopGradientOp o) {
        set(o, lookup(o.getInput()));
        return success();
      })
      .Case([&](FadeOp o) {
        // (1 - alpha) low + alpha high.
        Value alpha = scalarOf(loc, lookup(o.getAlpha()));
        set(o, elementwise(o, {lookup(o.getLow()), lookup(o.getHigh())},
                           [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                             Value d = nb.create<arith::SubFOp>(l, a[1], a[0]);
                             return nb.create<arith::AddFOp>(l, a[0], nb.create<arith::MulFOp>(l, alpha, d));
                           }));
        return success();
      })
      .Case<SoftmaxOp, LogSoftmaxOp>([&](auto o) {
        set(o, softmax(loc, lookup(o.getInput()), o.getAxis(), isa<LogSoftmaxOp>(o.getOperation())));
        return success();
      })
      .Case([&](SliceOp o) {
        set(o, slice(loc, lookup(o.getInput()), o.getAxis(), o.getStart(), o.getSize()));
        return success();
      })
      .Case([&](ConcatOp o) {
        SmallVector<Value> xs;
        for (Value v : o.getInputs())
          xs.push_back(lookup(v));
        set(o, concat(loc, xs, o.getAxis(), o.getType()));
        return success();
      })
      .Case([&](ShiftOp o) {
        set(o, shift(loc, lookup(o.getInput()), o.getAxis(), o.getAmount()));
        return success();
      })
      .Case([&](ReconLossOp o) {
        set(o, reconLoss(o));
        return success();
      })
      .Case<UpsampleOp, AvgPoolOp>([&](auto o) {
        set(o, pool(loc, lookup(o.getInput()), o.getFactor(), isa<UpsampleOp>(o.getOperation()),
                    o.getType()));
        return success();
      })
      .Case([&](Conv2DOp o) {
        // Zero borders: the padding, plus whatever the last window reads.
        Value x = lookup(o.getInput());
        RankedTensorType xt = type(x), wt = cast<RankedTensorType>(o.getWeight().getType());
        int64_t sh = o.getStride()[0], sw = o.getStride()[1];
        int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
        int64_t kh = wt.getDimSize(2), kw = wt.getDimSize(3);
        int64_t oh = o.getType().getDimSize(2), ow = o.getType().getDimSize(3);
        int64_t bottom = std::max<int64_t>(0, (oh - 1) * sh + kh - xt.getDimSize(2) - ph);
        int64_t right = std::max<int64_t>(0, (ow - 1) * sw + kw - xt.getDimSize(3) - pw);
        Value xp = spread(loc, x, ph, pw, bottom, right, 1);
        set(o, conv(loc, xp, lookup(o.getWeight()), o.getBias() ? lookup(o.getBias()) : Value(),
                    sh, sw, o.getType()));
        return success();
      })
      .Case([&](Conv2DWeightGradOp o) {
        Value x = lookup(o.getInput()), g = lookup(o.getGrad());
        RankedTensorType xt = type(x), gt = type(g), wt = o.getType();
        int64_t sh = o.getStride()[0], sw = o.getStride()[1];
        int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
        int64_t kh = wt.getDimSize(2), kw = wt.getDimSize(3);
        int64_t bottom = std::max<int64_t>(0, (gt.getDimSize(2) - 1) * sh + kh - xt.getDimSize(2) - ph);
        int64_t right = std::max<int64_t>(0, (gt.getDimSize(3) - 1) * sw + kw - xt.getDimSize(3) - pw);
        set(o, convWeightGrad(loc, spread(loc, x, ph, pw, bottom, right, 1), g, sh, sw, wt));
        return success();
      })
      .Case([&](Conv2DTransposeOp o) {
        // A stride-1 convolution of the input dilated by the stride, with
        // borders of k - 1 - padding, by the kernel flipped in space with
        // its channel axes swapped.
        Value x = lookup(o.getInput()), w = lookup(o.getWeight());
        RankedTensorType xt = type(x), wt = type(w), outType = o.getType();
        int64_t sh = o.getStride()[0], sw = o.getStride()[1];
        int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
        int64_t c = wt.getDimSize(0), f = wt.getDimSize(1), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
        int64_t top = kh - 1 - ph, left = kw - 1 - pw;
        if (top < 0 || left < 0)
          return unsupported = o, failure(); // padding beyond the kernel: a crop
        int64_t bottom = std::max<int64_t>(
            0, outType.getDimSize(2) + kh - 1 - top - (xt.getDimSize(2) - 1) * sh - 1);
        int64_t right = std::max<int64_t>(
            0, outType.getDimSize(3) + kw - 1 - left - (xt.getDimSize(3) - 1) * sw - 1);
        Value xd = spread(loc, x, top, left, bottom, right, sh);
        if (sh != sw && (sh != 1 || sw != 1))
          return unsupported = o, failure(); // one dilation for both axes
        MLIRContext *ctx = b.getContext();
        auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
        AffineMap flip = AffineMap::get(4, 0, {d(1), d(0), kh - 1 - d(2), kw - 1 - d(3)}, ctx);
        Value wf = generic1(loc, RankedTensorType::get({f, c, kh, kw}, f32()), {}, w, flip,
                            [](OpBuilder &, Location, ValueRange a) { return a[0]; });
        set(o, conv(loc, xd, wf, o.getBias() ? lookup(o.getBias()) : Value(), 1, 1, outType));
        return success();
      })
      .Case([&](BatchNormOp o) {
        // Per channel: batch mean and biased variance over (n, h, w), then
        // gamma (x - mean) / sqrt(var + eps) + beta.
        Value x = lookup(o.getInput());
        RankedTensorType t = type(x);
        int64_t rank = t.getRank();
        SmallVector<int64_t> axes;
        for (int64_t i = 0; i < rank; ++i)
          if (i != 1)
            axes.push_back(i);
        auto chType = RankedTensorType::get({t.getDimSize(1)}, f32());
        Value n = index(loc, 1);
        for (int64_t a : axes)
          n = b.create<arith::MulIOp>(loc, n, dim(loc, x, a));
        Value nf = b.create<arith::SIToFPOp>(loc, f32(), b.create<arith::IndexCastOp>(loc, b.getI64Type(), n));
        AffineMap id = b.getMultiDimIdentityMap(rank);
        AffineMap ch = AffineMap::get(rank, 0, {b.getAffineDimExpr(1)}, b.getContext());
        AffineMap vec = b.getMultiDimIdentityMap(1);
        Value sum = reduce(loc, x, axes, chType);
        Value mean = generic1(loc, chType, {}, sum, vec, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return nb.create<arith::DivFOp>(l, a[0], nf);
        });
        SmallVector<Value> dyn = dynamicSizes(loc, x);
        Value sq = generic1(loc, t, dyn, {x, mean}, {id, ch}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value d = nb.create<arith::SubFOp>(l, a[0], a[1]);
          return nb.create<arith::MulFOp>(l, d, d);
        });
        Value var = reduce(loc, sq, axes, chType);
        float eps = (float)o.getEps().convertToDouble();
        set(o, generic1(loc, t, dyn, {x, mean, var, lookup(o.getGamma()), lookup(o.getBeta())},
                        {id, ch, ch, ch, ch}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value v = nb.create<arith::DivFOp>(l, a[2], nf);
                          Value e = nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(eps));
                          Value inv = nb.create<math::RsqrtOp>(l, nb.create<arith::AddFOp>(l, v, e));
                          Value xhat = nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, a[0], a[1]), inv);
                          return nb.create<arith::AddFOp>(l, nb.create<arith::MulFOp>(l, a[3], xhat), a[4]);
                        }));
        return success();
      })
      .Case([&](ReshapeOp o) {
        set(o, reshape(loc, lookup(o.getInput()), o.getType()));
        return success();
      })
      .Case([&](TransposeOp o) {
        Value x = lookup(o.getInput());
        SmallVector<Value> dyn;
        for (int64_t i = 0; i < o.getType().getRank(); ++i)
          if (o.getType().isDynamicDim(i))
            dyn.push_back(dim(loc, x, o.getPermutation()[i]));
        Value init = empty(loc, o.getType(), dyn);
        set(o, b.create<linalg::TransposeOp>(loc, x, init, o.getPermutation()).getResult()[0]);
        return success();
      })
      .Case<SumOp, MeanOp>([&](auto o) {
        Value x = lookup(o.getInput());
        Value s = reduce(loc, x, o.getAxes(), o.getType());
        if (isa<MeanOp>(o.getOperation())) {
          Value n = index(loc, 1);
          for (int64_t a : o.getAxes())
            n = b.create<arith::MulIOp>(loc, n, dim(loc, x, a));
          Value nf = b.create<arith::SIToFPOp>(loc, f32(),
                                               b.create<arith::IndexCastOp>(loc, b.getI64Type(), n));
          s = elementwise(o, s, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            return nb.create<arith::DivFOp>(l, a[0], nf);
          });
        }
        set(o, s);
        return success();
      })
      .Case([&](MatmulOp o) {
        if (o.getType().getRank() != 2)
          return unsupported = o, failure();
        set(o, matmul(o));
        return success();
      })
      .Case([&](LinearOp o) {
        if (o.getType().getRank() != 2)
          return unsupported = o, failure();
        set(o, linear(o));
        return success();
      })
      .Case<NormalOp, UniformOp, BernoulliOp, CategoricalOp, MixtureNormalOp>([&](Operation *) {
        return success(); // read by the gm.sample that uses it
      })
      .Case([&](SampleOp o) {
        Operation *def = o.getDist().getDefiningOp();
        if (auto n = dyn_cast_or_null<NormalOp>(def))
          return set(o, sampleNormal(o, n)), success();
        if (auto u = dyn_cast_or_null<UniformOp>(def))
          return set(o, sampleUniform(o, u)), success();
        if (auto c = dyn_cast_or_null<CategoricalOp>(def))
          return set(o, sampleCategorical(o, c)), success();
        return unsupported = o, failure();
      })
      .Case([&](AdamUpdateOp o) {
        Value t = scalarOf(loc, lookup(o.getT())), lr = scalarOf(loc, lookup(o.getLr()));
        Value b1 = scalarOf(loc, lookup(o.getBeta1())), b2 = scalarOf(loc, lookup(o.getBeta2()));
        Value eps = scalarOf(loc, lookup(o.getEps()));
        // Bias corrections once per step, outside the loop.
        Value one = f32c(loc, 1.0);
        Value c1 = b.create<arith::SubFOp>(loc, one, b.create<math::PowFOp>(loc, b1, t));
        Value c2 = b.create<arith::SubFOp>(loc, one, b.create<math::PowFOp>(loc, b2, t));
        // param, m and v are the step's destinations: updated in place in
        // the caller's buffers when they are the state itself.
        auto r = update(o, {lookup(o.getGrad())}, {lookup(o.getParam()), lookup(o.getM()), lookup(o.getV())},
                        [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
                          // a = (g, p, m, v)
                          Value g = a[0];
                          Value m = nb.create<arith::AddFOp>(
                              l, nb.create<arith::MulFOp>(l, b1, a[2]),
                              nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, one, b1), g));
                          Value v = nb.create<arith::AddFOp>(
                              l, nb.create<arith::MulFOp>(l, b2, a[3]),
                              nb.create<arith::MulFOp>(l, nb.create<arith::SubFOp>(l, one, b2),
                                                       nb.create<arith::MulFOp>(l, g, g)));
                          Value mhat = nb.create<arith::DivFOp>(l, m, c1);
                          Value denom = nb.create<arith::AddFOp>(
                              l, nb.create<math::SqrtOp>(l, nb.create<arith::DivFOp>(l, v, c2)), eps);
                          Value step = nb.create<arith::DivFOp>(l, nb.create<arith::MulFOp>(l, lr, mhat), denom);
                          return {nb.create<arith::SubFOp>(l, a[1], step), m, v};
                        });
        set(o.getNewParam(), r[0]);
        set(o.getNewM(), r[1]);
        set(o.getNewV(), r[2]);
        return success();
      })
      .Case([&](SgdUpdateOp o) {
        Value lr = scalarOf(loc, lookup(o.getLr())), mom = scalarOf(loc, lookup(o.getMomentum()));
        auto r = update(o, {lookup(o.getGrad())}, {lookup(o.getParam()), lookup(o.getBuf())},
                        [&](OpBuilder &nb, Location l, ValueRange a) -> SmallVector<Value> {
                          // a = (g, p, buf)
                          Value buf = nb.create<arith::AddFOp>(l, nb.create<arith::MulFOp>(l, mom, a[2]), a[0]);
                          return {nb.create<arith::SubFOp>(l, a[1], nb.create<arith::MulFOp>(l, lr, buf)), buf};
                        });
        set(o.getNewParam(), r[0]);
        set(o.getNewBuf(), r[1]);
        return success();
      })
      .Case([&](IwaeOp o) { return iwae(o); })
      .Case([&](AssignOp o) {
        Value dest = stateMemref.lookup(o.getNameAttr().getAttr());
        b.create<bufferization::MaterializeInDestinationOp>(loc, TypeRange{}, lookup(o.getValue()),
                                                            dest, /*restrict=*/true,
                                                            /*writable=*/true);
        return success();
      })
      .Default([&](Operation *o) {
        unsupported = o;
        return failure();
      });
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// A gm shape in the manifest's terms: -1 for the batch dimension.
gmrt::Shape manifestShape(Type type) {
  gmrt::Shape shape;
  for (int64_t d : cast<RankedTensorType>(type).getShape())
    shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return shape;
}

struct GMToLinalg : public mlir::gm::impl::GMToLinalgPassBase<GMToLinalg> {
  void runOnOperation() override;
  /// Lowers |fn| to func.func @|symbol| at the end of the module; on an op
  /// without a lowering returns that op and builds nothing.
  FailureOr<func::FuncOp> lowerEntry(ModelOp model, FuncOp fn, StringRef symbol,
                                     Operation *&unsupported);
};

FailureOr<func::FuncOp> GMToLinalg::lowerEntry(ModelOp model, FuncOp entry,
                                               StringRef symbol, Operation *&unsupported) {
  ModuleOp module = getOperation();
  OpBuilder b(module.getContext());
  // Work on a copy with the calls inlined.
  b.setInsertionPointAfter(entry);
  auto fn = cast<FuncOp>(b.clone(*entry));
  auto eraseCopy = llvm::make_scope_exit([&] { fn.erase(); });
  if (failed(inlineCalls(fn)))
    return failure();

  auto memrefOf = [&](Type t) -> Type {
    if (isa<KeyType>(t))
      return MemRefType::get({}, b.getI64Type());
    auto rt = cast<RankedTensorType>(t);
    return MemRefType::get(rt.getShape(), rt.getElementType());
  };
  SmallVector<Type> args;
  SmallVector<ParamOp> state(model.getBlock().getOps<ParamOp>());
  for (ParamOp p : state)
    args.push_back(memrefOf(p.getType()));
  FunctionType fnType = fn.getFunctionType();
  for (Type t : fnType.getInputs())
    args.push_back(memrefOf(t));
  // An importance-weighted bound takes its number of draws as an argument.
  bool hasIwae = false;
  fn.walk([&](IwaeOp) { hasIwae = true; });
  if (hasIwae)
    args.push_back(MemRefType::get({}, b.getF32Type()));
  for (Type t : fnType.getResults())
    args.push_back(memrefOf(t));

  b.setInsertionPointToEnd(module.getBody());
  auto func = b.create<func::FuncOp>(entry.getLoc(), symbol, b.getFunctionType(args, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);

  EntryLowering low(b, model);
  for (auto [i, p] : llvm::enumerate(state)) {
    Value m = body->getArgument(i);
    low.stateMemref[p.getSymNameAttr()] = m;
    // Writable: an optimizer step updates the state in place (only update
    // generics take state tensors as destinations).
    low.stateTensor[p.getSymNameAttr()] = b.create<bufferization::ToTensorOp>(
        p.getLoc(), m, /*restrict=*/true, /*writable=*/true);
  }
  Block &gmBody = fn.getBody().front();
  for (auto [i, a] : llvm::enumerate(gmBody.getArguments())) {
    Value m = body->getArgument(state.size() + i);
    low.map.map(a, b.create<bufferization::ToTensorOp>(a.getLoc(), m, true, false).getResult());
  }
  unsigned firstOut = state.size() + gmBody.getNumArguments();
  if (hasIwae)
    low.iwaeK = b.create<bufferization::ToTensorOp>(entry.getLoc(), body->getArgument(firstOut++),
                                                    true, false);
  for (Operation &op : llvm::make_early_inc_range(gmBody)) {
    if (auto ret = dyn_cast<ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands()))
        b.create<bufferization::MaterializeInDestinationOp>(
            ret.getLoc(), TypeRange{}, low.lookup(v), body->getArgument(firstOut + i), true, true);
      break;
    }
    if (failed(low.lower(&op))) {
      unsupported = low.unsupported;
      func.erase();
      return failure();
    }
  }
  b.create<func::ReturnOp>(entry.getLoc());
  return func;
}

void GMToLinalg::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<ModelOp> models(module.getOps<ModelOp>());
  if (models.size() != 1) {
    module.emitError() << "expected one gm.model to lower, found " << models.size();
    return signalPassFailure();
  }
  ModelOp model = models.front();
  gmrt::Manifest manifest;
  manifest.model = model.getSymName().str();
  for (ParamOp p : model.getBlock().getOps<ParamOp>()) {
    gmrt::StateSpec &s = manifest.state.emplace_back();
    s.name = p.getSymName().str();
    s.shape = manifestShape(p.getType());
    s.init = stringifyInitKind(p.getInit()).str();
    s.scale = p.getScale() ? p.getScale()->convertToDouble() : 1.0;
    if (auto slotOf = p->getAttrOfType<FlatSymbolRefAttr>("slot_of"))
      s.slotOf = slotOf.getValue().str();
  }
  for (DataOp d : model.getBlock().getOps<DataOp>()) {
    gmrt::DataSpec &data = manifest.data.emplace_back();
    data.name = d.getSymName().str();
    data.shape = manifestShape(d.getType());
    data.kind = stringifyDataKind(d.getKind()).str();
    if (auto source = d->getAttrOfType<StringAttr>("source"))
      data.source = source.getValue().str();
  }

  unsigned next = 0;
  SmallVector<FuncOp> entries;
  for (FuncOp fn : model.getBlock().getOps<FuncOp>())
    if (fn.isEntry())
      entries.push_back(fn);
  for (FuncOp fn : entries) {
    // generate.<z> serves gmrun as a decoder does.
    StringRef kind = fn.getRole() == FuncRole::generate ? "decode"
                                                        : stringifyFuncRole(fn.getRole());
    std::string symbol = "gm_entry_" + std::to_string(next);
    Operation *unsupported = nullptr;
    FailureOr<func::FuncOp> lowered = lowerEntry(model, fn, symbol + "_impl", unsupported);
    if (failed(lowered)) {
      if (!unsupported)
        return signalPassFailure();
      // A training step is what an artifact is for; an evaluation or an
      // encoder that cannot run yet only leaves its command out.
      bool fatal = kind == "train";
      auto diag = fatal ? unsupported->emitError() : unsupported->emitWarning();
      diag << "'" << unsupported->getName() << "' has no CPU lowering yet; "
           << (fatal ? "cannot compile" : "leaving out") << " entry '" << fn.getSymName()
           << "'";
      if (fatal)
        return signalPassFailure();
      continue;
    }
    ++next;
    gmrt::EntrySpec &e = manifest.entries.emplace_back();
    e.name = fn.getSymName().str();
    e.symbol = symbol;
    e.kind = kind.str();
    ArrayAttr inputs = fn.getInputs();
    ArrayRef<StringRef> hparamNames = fn.getRuntimeArgNames();
    DictionaryAttr hparams = fn.getOptimizer() ? fn.getOptimizer()->getHparams() : DictionaryAttr();
    unsigned dataCount = inputs.size();
    for (auto [i, t] : llvm::enumerate(fn.getFunctionType().getInputs())) {
      gmrt::InputSpec &in = e.inputs.emplace_back();
      if (isa<KeyType>(t)) {
        in.kind = gmrt::InputSpec::Kind::Key;
      } else if (i < dataCount) {
        in.kind = gmrt::InputSpec::Kind::Data;
        in.name = cast<FlatSymbolRefAttr>(inputs[i]).getValue().str();
        in.shape = manifestShape(t);
      } else if (i - dataCount < hparamNames.size()) {
        in.kind = gmrt::InputSpec::Kind::HParam;
        in.name = hparamNames[i - dataCount].str();
        if (auto value = hparams ? hparams.getAs<FloatAttr>(in.name) : FloatAttr())
          in.defaultValue = value.getValueAsDouble();
      } else {
        // A decoder's latent value.
        in.kind = gmrt::InputSpec::Kind::Tensor;
        in.name = fn.getLatent() ? fn.getLatent()->str() : "in" + std::to_string(i);
        in.shape = manifestShape(t);
      }
    }
    // An IWAE bound takes its number of draws as one more hyper-parameter,
    // after the gm function's own arguments (lowerEntry's rank-0 memref).
    int64_t k = 0;
    fn.walk([&](IwaeOp iw) { k = iw.getK(); });
    if (k) {
      gmrt::InputSpec &in = e.inputs.emplace_back();
      in.kind = gmrt::InputSpec::Kind::HParam;
      in.name = "k";
      in.defaultValue = (double)k;
    }
    for (Type t : fn.getFunctionType().getResults())
      e.outputs.push_back(manifestShape(t));
    // How training steps are scheduled: which step (gm.step or gm.minimax)
    // an entry belongs to, its player, and a game's discriminator steps per
    // generator step.
    if (FlatSymbolRefAttr step = fn.getStepAttr())
      if (Operation *def = SymbolTable::lookupNearestSymbolFrom(fn, step)) {
        if (auto batch = def->getAttrOfType<IntegerAttr>("batch"))
          e.batch = batch.getInt();
        e.step = step.getValue().str();
        if (fn.getPlayer())
          e.player = stringifyPlayer(*fn.getPlayer()).str();
        if (auto mm = dyn_cast<MinimaxOp>(def))
          e.k = mm.getK();
      }
    // What an evaluation computes and whether a decoder's latent has the
    // standard normal prior: how gmrun reports and samples.
    if (fn.getBound())
      e.value = stringifyBound(*fn.getBound()).str();
    if (fn.getStandardPrior())
      e.prior = "standard_normal";
  }
  if (next == 0) {
    model.emitError() << "model '" << model.getSymName()
                      << "' has no entry point to compile (no train block?)";
    return signalPassFailure();
  }
  module->setAttr("gm.manifest", StringAttr::get(module.getContext(), gmrt::toJson(manifest)));
  model.erase();
}

} // namespace
