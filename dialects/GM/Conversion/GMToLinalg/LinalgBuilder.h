//===- LinalgBuilder.h - building blocks of the gm-to-linalg patterns -*- C++ -*-===//
//
// What the lowering patterns of every op family build again and again:
// tensors of a value's shape, parallel generics, reductions, reshapes
// through one flat dimension, the Philox generator of rng.h in a generic's
// body. A `?` dimension is the batch and is read with tensor.dim where a new
// tensor needs it.
//
// Every helper builds at |b|'s insertion point; in a conversion pattern |b|
// is the ConversionPatternRewriter, so the framework sees each new op.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_CONVERSION_GMTOLINALG_LINALGBUILDER_H
#define GM_DIALECTS_GM_CONVERSION_GMTOLINALG_LINALGBUILDER_H

#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::gm {

/// The body of a generic: scalar operands in, one scalar out.
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;
/// The body of a generic with several results.
using MultiBodyFn = function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

struct LinalgBuilder {
  OpBuilder &b;

  explicit LinalgBuilder(OpBuilder &b) : b(b) {}

  static RankedTensorType type(Value v) { return cast<RankedTensorType>(v.getType()); }
  Type f32() { return b.getF32Type(); }

  Value index(Location loc, int64_t v);
  Value f32c(Location loc, double v);
  /// Size |i| of tensor |t| as an index value.
  Value dim(Location loc, Value t, int64_t i);
  /// The dynamic sizes of |t|, for a tensor.empty of the same shape.
  SmallVector<Value> dynamicSizes(Location loc, Value t);
  /// Every size of |t| (static ones as attributes).
  SmallVector<OpFoldResult> sizesOf(Location loc, Value t);
  Value empty(Location loc, RankedTensorType t, ValueRange dyn);
  Value zeros(Location loc, RankedTensorType t, ValueRange dyn);
  /// The element of a rank-0 tensor, for use inside a generic's body.
  Value scalarOf(Location loc, Value t);
  /// The product of the sizes of |axes| of |x|, as an f32 (what a mean
  /// divides by).
  Value countOf(Location loc, Value x, ArrayRef<int64_t> axes);

  /// A parallel linalg.generic over |outType| (dynamic sizes |dyn|) reading
  /// |ins| through |inMaps| (identity when empty), writing |numOuts| results
  /// of |outType|.
  SmallVector<Value> generic(Location loc, RankedTensorType outType, ValueRange dyn,
                             ValueRange ins, ArrayRef<AffineMap> inMaps, unsigned numOuts,
                             MultiBodyFn body);
  Value generic1(Location loc, RankedTensorType outType, ValueRange dyn, ValueRange ins,
                 ArrayRef<AffineMap> inMaps, BodyFn body);
  /// Elementwise over operands of type |outType| (rank-0 operands are read
  /// as scalars).
  Value elementwise(Location loc, RankedTensorType outType, ValueRange ins, BodyFn body);
  /// An elementwise generic reading |ins| and updating |inouts| in place (its
  /// outs: the body sees ins, then the current values of inouts).
  SmallVector<Value> update(Location loc, ValueRange ins, ValueRange inouts, MultiBodyFn body);

  /// Sums |x| over |axes| (dropped): a reduction generic with reassociable
  /// adds, so LLVM vectorises it (in a fixed order: results stay
  /// deterministic).
  Value reduce(Location loc, Value x, ArrayRef<int64_t> axes, RankedTensorType outType);
  /// The maximum of |x| along |axis| (dropped).
  Value reduceMax(Location loc, Value x, int64_t axis);
  /// Softmax or log-softmax along |axis|, subtracting the maximum first.
  Value softmax(Location loc, Value x, int64_t axis, bool log);
  /// |x| reshaped to |to| through one flat dimension.
  Value reshape(Location loc, Value x, RankedTensorType to);
  /// |size| elements of |x| from |start| along |axis|.
  Value slice(Location loc, Value x, int64_t axis, int64_t start, int64_t size);

  /// The running sum of |p| over its last axis: exclusive or |inclusive|,
  /// summed in ascending order either way (so the inclusive sum at j is the
  /// exclusive one at j + 1, bit for bit).
  Value prefixSum(Location loc, Value p, bool inclusive);
};

//===----------------------------------------------------------------------===//
// Random numbers: Philox4x32-10 as in runtime/include/gmrt/rng.h
//===----------------------------------------------------------------------===//

/// The 4 words of Philox4x32-10 for counter (lo(index), hi(index), stream, 0)
/// and key (lo(key), hi(key)); arithmetic on i32 with 64-bit products.
void philox(OpBuilder &nb, Location l, Value index64, Value key64, int64_t stream, Value out[4]);
/// (w + 0.5) / 2^32 in f64: a uniform draw in (0, 1), as gmrt_word_to_unit.
Value wordToUnit(OpBuilder &nb, Location l, Value w);
/// A standard normal from lanes 0 and 1 (Box-Muller in f64, as gmrt_normal),
/// truncated to f32.
Value standardNormal(OpBuilder &nb, Location l, Value words[4]);
/// The row-major flat index of the current element of a generic over a
/// tensor with sizes |sizes| (its first |sizes.size()| loop dimensions).
Value flatIndex(OpBuilder &nb, Location l, ArrayRef<Value> sizes);
/// softplus(x) = max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
Value softplus(OpBuilder &nb, Location l, Value x);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_CONVERSION_GMTOLINALG_LINALGBUILDER_H
