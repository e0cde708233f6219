//===- Evaluator.cpp - reference interpreter of the gm dialect ------------===//
//
// Runs functions op by op: frames of values, calls and regions, parameter
// storage and initialisation. What each op computes is its rule (Rules.h),
// registered by op family in the other files of this folder.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Evaluator.h"

#include "compiler/Eval/Rules.h"

#include "runtime/include/gmrt/rng.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::gm;
using ::gm::Distribution;
using ::gm::RtValue;
using ::gm::Real;
using ::gm::Tensor;

::gm::Tensor::Tensor(ArrayRef<int64_t> s, Real fill) : shape(s.begin(), s.end()) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  data.assign(n, fill);
}

RtValue RtValue::ofTensor(Tensor t) {
  RtValue v;
  v.kind = Kind::Tensor;
  v.tensor = std::move(t);
  return v;
}

RtValue RtValue::ofKey(uint64_t k) {
  RtValue v;
  v.kind = Kind::Key;
  v.key = k;
  return v;
}

//===----------------------------------------------------------------------===//
// Evaluator
//===----------------------------------------------------------------------===//

namespace gm {

Evaluator::Evaluator(ModelOp model) : model(model) {
  for (auto p : model.getBlock().getOps<ParamOp>())
    paramValues[p.getSymName()] =
        Tensor(cast<RankedTensorType>(p.getType()).getShape());
}

void Evaluator::initParams(uint64_t seed) {
  uint32_t stream = 0;
  for (auto p : model.getBlock().getOps<ParamOp>()) {
    Tensor &t = paramValues[p.getSymName()];
    Real scale = p.getScale() ? p.getScale()->convertToDouble() : 1.0;
    int64_t fanIn = t.rank() > 1 ? t.numel() / t.shape[0] : t.numel();
    int64_t fanOut = t.rank() > 1 ? t.shape[0] : t.numel();
    for (int64_t i = 0; i < t.numel(); ++i) {
      Real u = gmrt_uniform(seed, stream, i, 2) * 2 - 1; // (-1, 1)
      switch (p.getInit()) {
      case InitKind::zeros: t.data[i] = 0; break;
      case InitKind::ones: t.data[i] = 1; break;
      case InitKind::normal: t.data[i] = scale * gmrt_normal(seed, stream, i); break;
      case InitKind::uniform: t.data[i] = scale * u; break;
      case InitKind::glorot_uniform:
        t.data[i] = std::sqrt(6.0 / (fanIn + fanOut)) * u;
        break;
      case InitKind::kaiming_uniform:
        t.data[i] = std::sqrt(1.0 / fanIn) * u;
        break;
      }
    }
    ++stream;
  }
}

Tensor *Evaluator::param(StringRef name) {
  auto it = paramValues.find(name);
  return it == paramValues.end() ? nullptr : &it->second;
}

bool Evaluator::fail(Operation *op, const Twine &msg) {
  std::string where;
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    where = (loc.getFilename().str() + ":" + Twine(loc.getLine()) + ":" +
             Twine(loc.getColumn()) + ": ")
                .str();
  lastError = where + op->getName().getStringRef().str() + ": " + msg.str();
  return false;
}

bool Evaluator::call(StringRef name, ArrayRef<RtValue> args,
                     std::vector<RtValue> &results, std::string &error) {
  Operation *fn = SymbolTable::lookupSymbolIn(model, name);
  auto iface = dyn_cast_or_null<FunctionOpInterface>(fn);
  if (!iface) {
    error = "no net or objective named '" + name.str() + "'";
    return false;
  }
  if (args.size() != iface.getNumArguments()) {
    error = "'" + name.str() + "' takes " +
            std::to_string(iface.getNumArguments()) + " argument(s), got " +
            std::to_string(args.size());
    return false;
  }
  lastError.clear();
  if (!run(iface.getFunctionBody(), args, results)) {
    error = lastError;
    return false;
  }
  return true;
}

bool Evaluator::run(Region &region, ArrayRef<RtValue> args,
                    std::vector<RtValue> &results) {
  if (++depth > 64) {
    --depth;
    lastError = "calls nested more than 64 deep";
    return false;
  }
  frames.emplace_back();
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    frames.back()[arg] = value;
  bool ok = true;
  for (Operation &op : block) {
    if (isa<ReturnOp, YieldOp>(op)) {
      for (Value v : op.getOperands())
        results.push_back(frames.back()[v]);
      break;
    }
    if (!(ok = eval(&op)))
      break;
  }
  frames.pop_back();
  --depth;
  return ok;
}

bool Evaluator::eval(Operation *op) {
  const eval::Rule *rule = eval::allRules().lookup(op);
  if (!rule)
    return fail(op, "the evaluator does not run this op");
  eval::Frame frame(*this);
  return (*rule)(op, frame);
}

//===----------------------------------------------------------------------===//
// Frame and the rule table
//===----------------------------------------------------------------------===//

namespace eval {

RtValue &Frame::get(Value v) {
  // Regions (gm.iwae) read values of the enclosing frame.
  for (auto it = e.frames.rbegin(); it != e.frames.rend(); ++it) {
    auto found = it->find(v);
    if (found != it->end())
      return found->second;
  }
  return e.frames.back()[v];
}

void Frame::set(Value v, RtValue r) { e.frames.back()[v] = std::move(r); }

void Frame::setD(Value v, Distribution d) {
  RtValue r;
  r.kind = RtValue::Kind::Dist;
  SmallVector<int64_t> shape(cast<DistType>(v.getType()).getSampleType().getShape());
  for (int64_t &dim : shape)
    if (ShapedType::isDynamic(dim))
      dim = d.params[0].shape[0];
  d.sampleShape.assign(shape.begin(), shape.end());
  r.dist = std::make_shared<Distribution>(std::move(d));
  set(v, std::move(r));
}

bool Frame::run(Region &region, ArrayRef<RtValue> args, std::vector<RtValue> &results) {
  return e.run(region, args, results);
}

bool Frame::fail(Operation *op, const Twine &msg) { return e.fail(op, msg); }

Tensor &Frame::param(StringRef name) { return e.paramValues[name]; }

Real Frame::scheduleAlpha() const { return e.scheduleAlpha; }

const Rules &allRules() {
  static const Rules rules = [] {
    Rules r;
    registerStructureRules(r);
    registerElementwiseRules(r);
    registerShapeRules(r);
    registerLayerRules(r);
    registerStochasticRules(r);
    return r;
  }();
  return rules;
}

} // namespace eval

bool makeArguments(FunctionOpInterface fn, ModelOp model, int64_t batch,
                   uint64_t seed, std::optional<double> fill,
                   std::vector<RtValue> &args, std::string &error) {
  ArrayAttr inputs = getDataInputs(fn);
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    if (isa<KeyType>(type)) {
      args.push_back(RtValue::ofKey(seed));
      continue;
    }
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType) {
      error = "cannot make argument #" + std::to_string(i);
      return false;
    }
    SmallVector<int64_t> shape(tensorType.getShape());
    for (int64_t &d : shape)
      if (ShapedType::isDynamic(d))
        d = batch;
    Tensor t(shape);
    DataKind kind = DataKind::real;
    int64_t classes = 1;
    if (inputs && i < inputs.size())
      if (auto data = SymbolTable::lookupSymbolIn(
              model, cast<FlatSymbolRefAttr>(inputs[i]).getAttr()))
        if (auto d = dyn_cast<DataOp>(data)) {
          kind = d.getKind();
          classes = std::max<int64_t>(d.getClasses().value_or(1), 1);
        }
    // A training step's hyper-parameters follow its data: their defaults.
    auto func = dyn_cast<FuncOp>(fn.getOperation());
    unsigned numData = inputs ? inputs.size() : 0;
    if (func && func.getOptimizer() && i >= numData &&
        i - numData < func.getRuntimeArgNames().size()) {
      StringRef name = func.getRuntimeArgNames()[i - numData];
      auto value = func.getOptimizer()->getHparams().getAs<FloatAttr>(name);
      t.data[0] = value ? value.getValueAsDouble() : 1.0; // t starts at 1
      args.push_back(RtValue::ofTensor(std::move(t)));
      continue;
    }
    uint32_t stream = 1000 + (uint32_t)i;
    if (kind == DataKind::real) {
      for (int64_t j = 0; j < t.numel(); ++j)
        t.data[j] = fill ? *fill : gmrt_uniform(seed, stream, j, 0);
    } else if (kind == DataKind::tokens) {
      for (int64_t j = 0; j < t.numel(); ++j)
        t.data[j] = (Real)(gmrt_rng_block_word(seed, stream, j) % classes);
    } else {
      int64_t k = shape.back();
      for (int64_t r = 0; r < t.numel() / k; ++r)
        t.data[r * k + gmrt_rng_block_word(seed, stream, r) % k] = 1.0;
    }
    args.push_back(RtValue::ofTensor(std::move(t)));
  }
  return true;
}

} // namespace gm
