//===- GMBuilder.h - small builders of gm arithmetic ------------*- C++ -*-===//
//
// The arithmetic that gradient rules (GMOps.cpp) and the training passes
// (dialects/GM/Transforms) write again and again: constants shaped like a
// value, broadcasts that take the batch size from a value, reductions and
// their inverses. Batched values have a dynamic leading dimension.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_IR_GMBUILDER_H
#define GM_DIALECTS_GM_IR_GMBUILDER_H

#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::gm {

/// Builds gm ops at |b|'s insertion point, all at |loc|.
struct GMBuilder {
  OpBuilder &b;
  Location loc;

  GMBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  static RankedTensorType type(Value v) { return cast<RankedTensorType>(v.getType()); }
  RankedTensorType f32Type(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }

  /// A tensor<f32> constant.
  Value scalar(double v) {
    auto t = f32Type({});
    return b.create<ConstantOp>(loc, t, DenseElementsAttr::get(t, (float)v));
  }
  /// Broadcasts |v| to |target|, taking dynamic (batch) sizes from |ref|.
  Value broadcastTo(Value v, RankedTensorType target, Value ref) {
    if (v.getType() == target)
      return v;
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < target.getRank(); ++i)
      if (target.isDynamicDim(i))
        sizes.push_back(b.create<BatchSizeOp>(loc, ref));
    return b.create<BroadcastOp>(loc, target, v, sizes);
  }
  /// A tensor of |like|'s type filled with |v|.
  Value fill(double v, Value like) { return broadcastTo(scalar(v), type(like), like); }

  Value add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<SubOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }
  Value div(Value x, Value y) { return b.create<DivOp>(loc, x, y); }
  Value neg(Value x) { return b.create<NegOp>(loc, x); }
  Value exp(Value x) { return b.create<ExpOp>(loc, x); }
  Value log(Value x) { return b.create<LogOp>(loc, x); }
  Value logSigmoid(Value x) { return b.create<LogSigmoidOp>(loc, x); }
  /// c * x.
  Value scale(Value x, double c) { return mul(fill(c, x), x); }
  Value logSoftmaxLast(Value x) {
    return b.create<LogSoftmaxOp>(loc, x, b.getI64IntegerAttr(type(x).getRank() - 1));
  }
  Value reshape(Value x, RankedTensorType to) {
    return x.getType() == to ? x : b.create<ReshapeOp>(loc, to, x).getResult();
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(type(x).getDimSize(p));
    return b.create<TransposeOp>(loc, f32Type(shape), x, b.getDenseI64ArrayAttr(perm));
  }

  /// Sums |x| over |axes| (dropped).
  Value sum(Value x, ArrayRef<int64_t> axes) {
    if (axes.empty())
      return x;
    SmallVector<int64_t> shape;
    for (int64_t i = 0; i < type(x).getRank(); ++i)
      if (!llvm::is_contained(axes, i))
        shape.push_back(type(x).getDimSize(i));
    return b.create<SumOp>(loc, f32Type(shape), x, b.getDenseI64ArrayAttr(axes));
  }
  /// The axes a batch norm reduces over for each channel: all but axis 1.
  static SmallVector<int64_t> channelReduceAxes(Value x) {
    SmallVector<int64_t> axes{0};
    for (int64_t i = 2; i < type(x).getRank(); ++i)
      axes.push_back(i);
    return axes;
  }
  /// Sum over all but the batch axis: (B, ...) -> (B).
  Value sumExample(Value x) {
    SmallVector<int64_t> axes;
    for (int64_t i = 1; i < type(x).getRank(); ++i)
      axes.push_back(i);
    return sum(x, axes);
  }
  /// Mean over every axis, to a tensor<f32>.
  Value meanAll(Value x) {
    SmallVector<int64_t> axes;
    for (int64_t i = 0; i < type(x).getRank(); ++i)
      axes.push_back(i);
    return b.create<MeanOp>(loc, f32Type({}), x, b.getDenseI64ArrayAttr(axes));
  }
  /// The inverse of a reduction: |x|, reduced over |axes| of |like|'s type,
  /// broadcast back to that type.
  Value expand(Value x, ArrayRef<int64_t> axes, Value like) {
    SmallVector<int64_t> keep(type(like).getShape());
    for (int64_t a : axes)
      keep[a] = 1;
    return broadcastTo(reshape(x, f32Type(keep)), type(like), like);
  }
  /// A per-example value (B) spread over each example's elements of |like|.
  Value expandExample(Value g, Value like) {
    SmallVector<int64_t> axes;
    for (int64_t i = 1; i < type(like).getRank(); ++i)
      axes.push_back(i);
    return expand(g, axes, like);
  }
  /// The inverse of a broadcast: sums |g| down to |target| (right-aligned).
  Value sumTo(Value g, RankedTensorType target) {
    RankedTensorType from = type(g);
    if (from == target)
      return g;
    int64_t offset = from.getRank() - target.getRank();
    SmallVector<int64_t> axes;
    for (int64_t i = 0; i < from.getRank(); ++i)
      if (i < offset || (target.getDimSize(i - offset) == 1 && from.getDimSize(i) != 1))
        axes.push_back(i);
    return reshape(sum(g, axes), target);
  }
};

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_IR_GMBUILDER_H
