//===- Shapes.cpp - reshapes, permutations, slices, reductions, pooling -----===//
//
// Index arithmetic on row-major tensors (Kernels.h's strides): what each op
// moves where, and the sums and means over axes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Kernels.h"
#include "compiler/Eval/Rules.h"

#include <algorithm>
#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::eval;
using ::gm::Distribution;
using ::gm::Real;
using ::gm::RtValue;
using ::gm::Tensor;

void ::gm::eval::registerShapeRules(Rules &rules) {
  rules.def<ReshapeOp>([](ReshapeOp o, Frame &frame) {
    Tensor t = frame.T(o.getInput());
    t.shape = concreteShape(o.getType(), t.shape[0]);
    frame.setT(o, std::move(t));
    return true;
  });
  rules.def<TransposeOp>([](TransposeOp o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    ArrayRef<int64_t> perm = o.getPermutation();
    SmallVector<int64_t, 4> shape;
    for (int64_t p : perm)
      shape.push_back(x.shape[p]);
    Tensor out(shape);
    auto in = strides(x.shape), os = strides(shape);
    for (int64_t i = 0; i < out.numel(); ++i) {
      int64_t src = 0;
      for (size_t d = 0; d < perm.size(); ++d)
        src += ((i / os[d]) % shape[d]) * in[perm[d]];
      out.data[i] = x.data[src];
    }
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<ConcatOp>([](ConcatOp o, Frame &frame) {
    int64_t axis = o.getAxis();
    SmallVector<int64_t, 4> shape = frame.T(o.getInputs()[0]).shape;
    shape[axis] = 0;
    for (Value v : o.getInputs())
      shape[axis] += frame.T(v).shape[axis];
    Tensor out(shape);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= shape[d];
    int64_t inner = out.numel() / outer / shape[axis], at = 0;
    for (int64_t r = 0; r < outer; ++r)
      for (Value v : o.getInputs()) {
        const Tensor &t = frame.T(v);
        int64_t chunk = t.shape[axis] * inner;
        std::copy_n(&t.data[r * chunk], chunk, &out.data[at]);
        at += chunk;
      }
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<SliceOp>([](SliceOp o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    int64_t axis = o.getAxis(), start = o.getStart(), size = o.getSize();
    SmallVector<int64_t, 4> shape = x.shape;
    shape[axis] = size;
    Tensor out(shape);
    auto st = strides(x.shape), os = strides(shape);
    for (int64_t i = 0; i < out.numel(); ++i) {
      int64_t src = 0;
      for (int64_t d = 0; d < x.rank(); ++d) {
        int64_t c = (i / os[d]) % shape[d];
        src += (d == axis ? c + start : c) * st[d];
      }
      out.data[i] = x.data[src];
    }
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<ShiftOp>([](ShiftOp o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    int64_t axis = o.getAxis(), amount = o.getAmount();
    auto st = strides(x.shape);
    Tensor out(x.shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t src = (i / st[axis]) % x.shape[axis] - amount;
      if (src >= 0 && src < x.shape[axis])
        out.data[i] = x.data[i - amount * st[axis]];
    }
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<SumOp, MeanOp>([](auto o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    ArrayRef<int64_t> axes = o.getAxes();
    SmallVector<int64_t, 4> shape;
    int64_t count = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (llvm::is_contained(axes, d))
        count *= x.shape[d];
      else
        shape.push_back(x.shape[d]);
    }
    Tensor out(shape);
    auto st = strides(x.shape), os = strides(shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t dst = 0, k = 0;
      for (int64_t d = 0; d < x.rank(); ++d)
        if (!llvm::is_contained(axes, d))
          dst += ((i / st[d]) % x.shape[d]) * os[k++];
      out.data[dst] += x.data[i];
    }
    if (isa<MeanOp>(o.getOperation()))
      for (Real &v : out.data)
        v /= std::max<int64_t>(count, 1);
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<UpsampleOp, AvgPoolOp>([](auto o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    int64_t f = o.getFactor();
    bool up = isa<UpsampleOp>(o.getOperation());
    int64_t b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    int64_t oh = up ? h * f : h / f, ow = up ? w * f : w / f;
    Tensor out({b, c, oh, ow});
    for (int64_t n = 0; n < b * c; ++n)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          Real v = 0;
          if (up) {
            v = x.data[(n * h + i / f) * w + j / f];
          } else {
            for (int64_t di = 0; di < f; ++di)
              for (int64_t dj = 0; dj < f; ++dj)
                v += x.data[(n * h + i * f + di) * w + j * f + dj];
            v /= f * f;
          }
          out.data[(n * oh + i) * ow + j] = v;
        }
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<OneHotOp>([](OneHotOp o, Frame &frame) {
    const Tensor &ids = frame.T(o.getIds());
    int64_t k = o.getClasses();
    Tensor y(concreteShape(o.getType(), ids.shape[0]));
    for (int64_t i = 0; i < ids.numel(); ++i) {
      int64_t id = (int64_t)ids.data[i];
      if (id >= 0 && id < k)
        y.data[i * k + id] = 1;
    }
    frame.setT(o, std::move(y));
    return true;
  });
}
