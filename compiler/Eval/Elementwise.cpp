//===- Elementwise.cpp - elementwise arithmetic and activations -------------===//
//
// One scalar function per op, applied to every element; softmax and
// log-softmax along one axis, through a stable log-sum-exp.
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

namespace {

/// The rule of a one-operand op computing |f| of each element.
template <typename OpT, typename F> void unaryRule(Rules &rules, F f) {
  rules.def<OpT>([f](OpT o, Frame &frame) { return frame.unary(o.getInput(), o, f); });
}

/// The rule of a two-operand op computing |f| of each pair of elements.
template <typename OpT, typename F> void binaryRule(Rules &rules, F f) {
  rules.def<OpT>([f](OpT o, Frame &frame) { return frame.binary(o, f); });
}

} // namespace

void ::gm::eval::registerElementwiseRules(Rules &rules) {
  binaryRule<AddOp>(rules, [](Real a, Real b) { return a + b; });
  binaryRule<SubOp>(rules, [](Real a, Real b) { return a - b; });
  binaryRule<MulOp>(rules, [](Real a, Real b) { return a * b; });
  binaryRule<DivOp>(rules, [](Real a, Real b) { return a / b; });
  unaryRule<NegOp>(rules, [](Real x) { return -x; });
  unaryRule<ExpOp>(rules, [](Real x) { return std::exp(x); });
  unaryRule<LogOp>(rules, [](Real x) { return std::log(x); });
  unaryRule<SqrtOp>(rules, [](Real x) { return std::sqrt(x); });
  unaryRule<SquareOp>(rules, [](Real x) { return x * x; });
  unaryRule<AbsOp>(rules, [](Real x) { return std::fabs(x); });
  unaryRule<TanhOp>(rules, [](Real x) { return std::tanh(x); });
  unaryRule<SigmoidOp>(rules, sigmoid);
  unaryRule<SoftplusOp>(rules, softplus);
  unaryRule<LogSigmoidOp>(rules, logSigmoid);
  unaryRule<ReluOp>(rules, [](Real x) { return x > 0 ? x : (Real)0; });
  unaryRule<SignOp>(rules, [](Real x) { return (Real)((x > 0) - (x < 0)); });
  unaryRule<StopGradientOp>(rules, [](Real x) { return x; });
  rules.def<LeakyReluOp>([](LeakyReluOp o, Frame &frame) {
    Real a = o.getAlpha().convertToDouble();
    return frame.unary(o.getInput(), o, [a](Real x) { return x > 0 ? x : a * x; });
  });
  rules.def<EluOp>([](EluOp o, Frame &frame) {
    Real a = o.getAlpha().convertToDouble();
    return frame.unary(o.getInput(), o, [a](Real x) { return x > 0 ? x : a * std::expm1(x); });
  });
  rules.def<FadeOp>([](FadeOp o, Frame &frame) {
    Real a = frame.T(o.getAlpha()).data[0];
    Tensor t = frame.T(o.getLow());
    const Tensor &hi = frame.T(o.getHigh());
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data[i] = (1 - a) * t.data[i] + a * hi.data[i];
    frame.setT(o, std::move(t));
    return true;
  });
  rules.def<SoftmaxOp, LogSoftmaxOp>([](auto o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    int64_t axis = o.getAxis();
    auto st = strides(x.shape);
    int64_t n = x.shape[axis], step = st[axis];
    Tensor out = x;
    for (int64_t i = 0; i < x.numel(); ++i) {
      if ((i / step) % n != 0)
        continue; // visit each line once, from its first element
      std::vector<Real> line(n);
      for (int64_t j = 0; j < n; ++j)
        line[j] = x.data[i + j * step];
      Real lse = logSumExp(line);
      for (int64_t j = 0; j < n; ++j) {
        Real ls = line[j] - lse;
        out.data[i + j * step] = isa<SoftmaxOp>(o.getOperation()) ? std::exp(ls) : ls;
      }
    }
    frame.setT(o, std::move(out));
    return true;
  });
}
