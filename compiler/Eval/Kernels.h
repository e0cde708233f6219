//===- Kernels.h - numeric helpers the evaluator's rules share --*- C++ -*-===//
//
// Scalar functions computed stably in Real precision, and the index
// arithmetic of row-major tensors, for the rule families of the evaluator.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_EVAL_KERNELS_H
#define GM_COMPILER_EVAL_KERNELS_H

#include "compiler/Eval/Evaluator.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <limits>

namespace gm::eval {

using llvm::ArrayRef;
using llvm::SmallVector;

constexpr Real kLog2Pi = 1.83787706640934548356065947281123527L;

inline Real sigmoid(Real x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
inline Real softplus(Real x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
inline Real logSigmoid(Real x) { return -softplus(-x); }

/// log(sum(exp(v))) without overflow.
inline Real logSumExp(ArrayRef<Real> v) {
  Real m = -std::numeric_limits<Real>::infinity();
  for (Real x : v)
    m = std::max(m, x);
  if (std::isinf(m))
    return m;
  Real s = 0;
  for (Real x : v)
    s += std::exp(x - m);
  return m + std::log(s);
}

inline SmallVector<int64_t, 4> strides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t, 4> s(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Shape of a value's type, with the batch dimension taken from |batch|.
inline SmallVector<int64_t, 4> concreteShape(mlir::Type type, int64_t batch) {
  SmallVector<int64_t, 4> shape(llvm::cast<mlir::RankedTensorType>(type).getShape());
  for (int64_t &d : shape)
    if (mlir::ShapedType::isDynamic(d))
      d = batch;
  return shape;
}

/// Numpy broadcast of |t| to |shape| (right-aligned, 1s stretch).
inline Tensor broadcast(const Tensor &t, ArrayRef<int64_t> shape) {
  Tensor out(shape);
  int64_t offset = (int64_t)shape.size() - t.rank();
  auto inStrides = strides(t.shape);
  auto outStrides = strides(shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < t.rank(); ++d) {
      int64_t coord = (i / outStrides[d + offset]) % shape[d + offset];
      if (t.shape[d] != 1)
        src += coord * inStrides[d];
    }
    out.data[i] = t.data[src];
  }
  return out;
}

/// Sums each example's elements: (B, ...) -> (B).
inline Tensor perExampleSum(const Tensor &t) {
  int64_t b = t.shape[0], n = t.numel() / std::max<int64_t>(b, 1);
  Tensor out({b});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < n; ++j)
      out.data[i] += t.data[i * n + j];
  return out;
}

/// Log-softmax of each row over the last axis.
inline Tensor logSoftmaxLast(const Tensor &t) {
  Tensor out = t;
  int64_t k = t.shape.back(), rows = t.numel() / k;
  for (int64_t r = 0; r < rows; ++r) {
    Real lse = logSumExp(ArrayRef<Real>(&t.data[r * k], k));
    for (int64_t j = 0; j < k; ++j)
      out.data[r * k + j] -= lse;
  }
  return out;
}

} // namespace gm::eval

#endif // GM_COMPILER_EVAL_KERNELS_H
