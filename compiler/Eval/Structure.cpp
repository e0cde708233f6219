//===- Structure.cpp - calls, constants, shapes of values, state and optimizers ---===//
//
// The ops that move values rather than compute them: parameter reads and
// writes, calls, constants, batch sizes and broadcasts; and the optimizer
// updates a training step ends with (Adam with bias correction, SGD with
// PyTorch's momentum).
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

void ::gm::eval::registerStructureRules(Rules &rules) {
  rules.def<ParamRefOp>([](ParamRefOp o, Frame &frame) {
    frame.setT(o, frame.param(o.getName()));
    return true;
  });
  rules.def<CallOp>([](CallOp o, Frame &frame) {
    auto fn = cast<FunctionOpInterface>(SymbolTable::lookupNearestSymbolFrom(o, o.getCalleeAttr()));
    std::vector<RtValue> args, results;
    for (Value v : o.getOperands())
      args.push_back(frame.get(v));
    if (!frame.run(fn.getFunctionBody(), args, results))
      return false;
    for (auto [r, v] : llvm::zip(o.getResults(), results))
      frame.set(r, v);
    return true;
  });
  rules.def<ConstantOp>([](ConstantOp o, Frame &frame) {
    auto attr = cast<DenseElementsAttr>(o.getValue());
    Tensor t(cast<RankedTensorType>(o.getType()).getShape());
    int64_t i = 0;
    if (attr.getElementType().isF32())
      for (APFloat v : attr.getValues<APFloat>())
        t.data[i++] = v.convertToDouble();
    else
      for (APInt v : attr.getValues<APInt>())
        t.data[i++] = (Real)v.getSExtValue();
    frame.setT(o, std::move(t));
    return true;
  });
  rules.def<BatchSizeOp>([](BatchSizeOp o, Frame &frame) {
    RtValue r;
    r.kind = RtValue::Kind::Index;
    r.index = frame.T(o.getInput()).shape[0];
    frame.set(o, r);
    return true;
  });
  rules.def<BroadcastOp>([](BroadcastOp o, Frame &frame) {
    SmallVector<int64_t, 4> shape(o.getType().getShape());
    unsigned next = 0;
    for (int64_t &d : shape)
      if (ShapedType::isDynamic(d))
        d = frame.get(o.getDynamicSizes()[next++]).index;
    frame.setT(o, broadcast(frame.T(o.getInput()), shape));
    return true;
  });
  rules.def<AssignOp>([](AssignOp o, Frame &frame) {
    frame.param(o.getName()) = frame.T(o.getValue());
    return true;
  });
  rules.def<AdamUpdateOp>([](AdamUpdateOp o, Frame &frame) {
    // m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
    // p' = p - lr mhat / (sqrt(vhat) + eps), with bias correction.
    Real t = frame.T(o.getT()).data[0], lr = frame.T(o.getLr()).data[0];
    Real b1 = frame.T(o.getBeta1()).data[0], b2 = frame.T(o.getBeta2()).data[0];
    Real eps = frame.T(o.getEps()).data[0];
    Tensor p = frame.T(o.getParam()), m = frame.T(o.getM()), v = frame.T(o.getV());
    const Tensor &g = frame.T(o.getGrad());
    Real c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    for (int64_t i = 0; i < p.numel(); ++i) {
      m.data[i] = b1 * m.data[i] + (1 - b1) * g.data[i];
      v.data[i] = b2 * v.data[i] + (1 - b2) * g.data[i] * g.data[i];
      p.data[i] -= lr * (m.data[i] / c1) / (std::sqrt(v.data[i] / c2) + eps);
    }
    frame.setT(o.getNewParam(), std::move(p));
    frame.setT(o.getNewM(), std::move(m));
    frame.setT(o.getNewV(), std::move(v));
    return true;
  });
  rules.def<SgdUpdateOp>([](SgdUpdateOp o, Frame &frame) {
    // buf' = momentum buf + g; p' = p - lr buf'.
    Real lr = frame.T(o.getLr()).data[0], mom = frame.T(o.getMomentum()).data[0];
    Tensor p = frame.T(o.getParam()), buf = frame.T(o.getBuf());
    const Tensor &g = frame.T(o.getGrad());
    for (int64_t i = 0; i < p.numel(); ++i) {
      buf.data[i] = mom * buf.data[i] + g.data[i];
      p.data[i] -= lr * buf.data[i];
    }
    frame.setT(o.getNewParam(), std::move(p));
    frame.setT(o.getNewBuf(), std::move(buf));
    return true;
  });
  rules.def<ScheduleAlphaOp>([](ScheduleAlphaOp o, Frame &frame) {
    frame.setT(o, Tensor({}, frame.scheduleAlpha()));
    return true;
  });
  rules.def<SizeOp>([](SizeOp o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput());
    Real n = 1;
    for (int64_t a : o.getAxes())
      n *= x.shape[a];
    frame.setT(o, Tensor({}, n));
    return true;
  });
}
