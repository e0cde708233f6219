//===- Evaluator.cpp - reference interpreter of the gm dialect ------------===//
//
// One function per op family, each a direct transcription of the op's
// documented semantics in Real precision. Shape legend: B batch, C
// channels, H/W height/width, K kernel or classes, D features.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Evaluator.h"

#include "runtime/include/gmrt/rng.h"

#include "llvm/ADT/TypeSwitch.h"

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
// Scalar helpers
//===----------------------------------------------------------------------===//

namespace {

constexpr Real kLog2Pi = 1.83787706640934548356065947281123527L;

Real sigmoid(Real x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
Real softplus(Real x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
Real logSigmoid(Real x) { return -softplus(-x); }

/// log(sum(exp(v))) without overflow.
Real logSumExp(ArrayRef<Real> v) {
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

SmallVector<int64_t, 4> strides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t, 4> s(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Shape of a value's type, with the batch dimension taken from |batch|.
SmallVector<int64_t, 4> concreteShape(Type type, int64_t batch) {
  SmallVector<int64_t, 4> shape(cast<RankedTensorType>(type).getShape());
  for (int64_t &d : shape)
    if (ShapedType::isDynamic(d))
      d = batch;
  return shape;
}

/// Numpy broadcast of |t| to |shape| (right-aligned, 1s stretch).
Tensor broadcast(const Tensor &t, ArrayRef<int64_t> shape) {
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
Tensor perExampleSum(const Tensor &t) {
  int64_t b = t.shape[0], n = t.numel() / std::max<int64_t>(b, 1);
  Tensor out({b});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < n; ++j)
      out.data[i] += t.data[i * n + j];
  return out;
}

/// Log-softmax of each row over the last axis.
Tensor logSoftmaxLast(const Tensor &t) {
  Tensor out = t;
  int64_t k = t.shape.back(), rows = t.numel() / k;
  for (int64_t r = 0; r < rows; ++r) {
    Real lse = logSumExp(ArrayRef<Real>(&t.data[r * k], k));
    for (int64_t j = 0; j < k; ++j)
      out.data[r * k + j] -= lse;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Distributions
//===----------------------------------------------------------------------===//

Real normalSigma(const Distribution &d, int64_t i) {
  Real s = d.params[1].data[i];
  return d.normalParam == NormalParam::logvar ? std::exp(0.5 * s) : s;
}

/// Per-example log-density (summed over the example) of |x| under |d|.
Tensor logProb(const Distribution &d, const Tensor &x) {
  Tensor lp(x.shape);
  switch (d.kind) {
  case DistKind::normal:
    for (int64_t i = 0; i < x.numel(); ++i) {
      Real sigma = normalSigma(d, i);
      Real z = (x.data[i] - d.params[0].data[i]) / sigma;
      lp.data[i] = -0.5 * z * z - std::log(sigma) - 0.5 * kLog2Pi;
    }
    return perExampleSum(lp);
  case DistKind::bernoulli:
    // x log sigmoid(l) + (1 - x) log sigmoid(-l) = x l - softplus(l).
    for (int64_t i = 0; i < x.numel(); ++i) {
      Real l = d.params[0].data[i];
      lp.data[i] = x.data[i] * l - softplus(l);
    }
    return perExampleSum(lp);
  case DistKind::categorical: {
    Tensor ls = logSoftmaxLast(d.params[0]);
    for (int64_t i = 0; i < x.numel(); ++i)
      lp.data[i] = x.data[i] == 0 ? 0 : x.data[i] * ls.data[i];
    return perExampleSum(lp);
  }
  case DistKind::uniform:
    for (int64_t i = 0; i < x.numel(); ++i) {
      Real lo = d.params[0].data[i], hi = d.params[1].data[i];
      lp.data[i] = x.data[i] >= lo && x.data[i] < hi
                       ? -std::log(hi - lo)
                       : -std::numeric_limits<Real>::infinity();
    }
    return perExampleSum(lp);
  case DistKind::mixture_normal: {
    const Tensor &w = d.params[0], &mu = d.params[1], &lv = d.params[2];
    int64_t b = x.shape[0], dim = x.shape[1], k = w.shape[1];
    Tensor lw = logSoftmaxLast(w);
    Tensor out({b});
    std::vector<Real> terms(k);
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t c = 0; c < k; ++c) {
        Real s = lw.data[n * k + c];
        for (int64_t j = 0; j < dim; ++j) {
          int64_t at = (n * k + c) * dim + j;
          Real var = std::exp(lv.data[at]);
          Real diff = x.data[n * dim + j] - mu.data[at];
          s += -0.5 * diff * diff / var - 0.5 * lv.data[at] - 0.5 * kLog2Pi;
        }
        terms[c] = s;
      }
      out.data[n] = logSumExp(terms);
    }
    return out;
  }
  }
  return lp;
}

/// One draw from |d| (see the header for the formulas).
Tensor sample(const Distribution &d, uint64_t key, uint32_t stream,
              uint64_t base) {
  Tensor z(d.sampleShape);
  switch (d.kind) {
  case DistKind::normal:
    for (int64_t i = 0; i < z.numel(); ++i)
      z.data[i] = d.params[0].data[i] +
                  normalSigma(d, i) * gmrt_normal(key, stream, base + i);
    return z;
  case DistKind::uniform:
    for (int64_t i = 0; i < z.numel(); ++i) {
      Real lo = d.params[0].data[i], hi = d.params[1].data[i];
      z.data[i] = lo + (hi - lo) * gmrt_uniform(key, stream, base + i, 2);
    }
    return z;
  case DistKind::bernoulli:
    for (int64_t i = 0; i < z.numel(); ++i)
      z.data[i] = gmrt_uniform(key, stream, base + i, 2) <
                          sigmoid(d.params[0].data[i])
                      ? 1.0
                      : 0.0;
    return z;
  case DistKind::categorical: {
    Tensor ls = logSoftmaxLast(d.params[0]);
    int64_t k = z.shape.back(), rows = z.numel() / k;
    for (int64_t r = 0; r < rows; ++r) {
      Real u = gmrt_uniform(key, stream, base + r, 2), acc = 0;
      int64_t pick = k - 1;
      for (int64_t j = 0; j < k; ++j) {
        acc += std::exp(ls.data[r * k + j]);
        if (u < acc) {
          pick = j;
          break;
        }
      }
      z.data[r * k + pick] = 1.0;
    }
    return z;
  }
  case DistKind::mixture_normal: {
    const Tensor &w = d.params[0], &mu = d.params[1], &lv = d.params[2];
    int64_t b = z.shape[0], dim = z.shape[1], k = w.shape[1];
    Tensor lw = logSoftmaxLast(w);
    for (int64_t n = 0; n < b; ++n) {
      Real u = gmrt_uniform(key, stream, base + n * dim, 3), acc = 0;
      int64_t c = k - 1;
      for (int64_t j = 0; j < k; ++j) {
        acc += std::exp(lw.data[n * k + j]);
        if (u < acc) {
          c = j;
          break;
        }
      }
      for (int64_t j = 0; j < dim; ++j) {
        int64_t at = (n * k + c) * dim + j;
        z.data[n * dim + j] =
            mu.data[at] + std::exp(0.5 * lv.data[at]) *
                              gmrt_normal(key, stream, base + n * dim + j);
      }
    }
    return z;
  }
  }
  return z;
}

/// Analytic per-example KL(q || p).
Tensor analyticKL(const Distribution &q, const Distribution &p) {
  Tensor kl(q.sampleShape);
  switch (q.kind) {
  case DistKind::normal:
    for (int64_t i = 0; i < kl.numel(); ++i) {
      Real sq = normalSigma(q, i), sp = normalSigma(p, i);
      Real dm = q.params[0].data[i] - p.params[0].data[i];
      kl.data[i] = std::log(sp / sq) + (sq * sq + dm * dm) / (2 * sp * sp) - 0.5;
    }
    break;
  case DistKind::bernoulli:
    for (int64_t i = 0; i < kl.numel(); ++i) {
      Real lq = q.params[0].data[i], lp = p.params[0].data[i];
      Real pq = sigmoid(lq);
      kl.data[i] = pq * (logSigmoid(lq) - logSigmoid(lp)) +
                   (1 - pq) * (logSigmoid(-lq) - logSigmoid(-lp));
    }
    break;
  default: { // categorical
    Tensor lq = logSoftmaxLast(q.params[0]), lp = logSoftmaxLast(p.params[0]);
    for (int64_t i = 0; i < kl.numel(); ++i)
      kl.data[i] = std::exp(lq.data[i]) * (lq.data[i] - lp.data[i]);
    break;
  }
  }
  return perExampleSum(kl);
}

} // namespace

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
  auto &frame = frames.back();
  auto get = [&](Value v) -> RtValue & {
    // Regions (gm.iwae) read values of the enclosing frame.
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto found = it->find(v);
      if (found != it->end())
        return found->second;
    }
    return frame[v];
  };
  auto T = [&](Value v) -> const Tensor & { return get(v).tensor; };
  auto D = [&](Value v) -> const Distribution & { return *get(v).dist; };
  auto setT = [&](Value v, Tensor t) { frame[v] = RtValue::ofTensor(std::move(t)); };
  auto setD = [&](Value v, Distribution d) {
    RtValue r;
    r.kind = RtValue::Kind::Dist;
    d.sampleShape = concreteShape(cast<DistType>(v.getType()).getSampleType(),
                                  d.params[0].shape[0]);
    r.dist = std::make_shared<Distribution>(std::move(d));
    frame[v] = r;
  };
  auto unary = [&](Value in, Value out, auto f) {
    Tensor t = T(in);
    for (Real &x : t.data)
      x = f(x);
    setT(out, std::move(t));
    return true;
  };
  auto binary = [&](Operation *o, auto f) {
    Tensor t = T(o->getOperand(0));
    const Tensor &r = T(o->getOperand(1));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data[i] = f(t.data[i], r.data[i]);
    setT(o->getResult(0), std::move(t));
    return true;
  };

  return llvm::TypeSwitch<Operation *, bool>(op)
      //===-- structure -----------------------------------------------===//
      .Case([&](ParamRefOp o) {
        setT(o, paramValues[o.getName()]);
        return true;
      })
      .Case([&](CallOp o) {
        auto fn = cast<FunctionOpInterface>(
            SymbolTable::lookupNearestSymbolFrom(o, o.getCalleeAttr()));
        std::vector<RtValue> args, results;
        for (Value v : o.getOperands())
          args.push_back(get(v));
        if (!run(fn.getFunctionBody(), args, results))
          return false;
        for (auto [r, v] : llvm::zip(o.getResults(), results))
          frame[r] = v;
        return true;
      })
      .Case([&](ConstantOp o) {
        auto attr = cast<DenseElementsAttr>(o.getValue());
        Tensor t(cast<RankedTensorType>(o.getType()).getShape());
        int64_t i = 0;
        if (attr.getElementType().isF32())
          for (APFloat v : attr.getValues<APFloat>())
            t.data[i++] = v.convertToDouble();
        else
          for (APInt v : attr.getValues<APInt>())
            t.data[i++] = (Real)v.getSExtValue();
        setT(o, std::move(t));
        return true;
      })
      .Case([&](BatchSizeOp o) {
        RtValue r;
        r.kind = RtValue::Kind::Index;
        r.index = T(o.getInput()).shape[0];
        frame[o] = r;
        return true;
      })
      .Case([&](BroadcastOp o) {
        SmallVector<int64_t, 4> shape(o.getType().getShape());
        unsigned next = 0;
        for (int64_t &d : shape)
          if (ShapedType::isDynamic(d))
            d = get(o.getDynamicSizes()[next++]).index;
        setT(o, broadcast(T(o.getInput()), shape));
        return true;
      })
      .Case([&](AssignOp o) {
        paramValues[o.getName()] = T(o.getValue());
        return true;
      })
      .Case([&](AdamUpdateOp o) {
        // m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
        // p' = p - lr mhat / (sqrt(vhat) + eps), with bias correction.
        Real t = T(o.getT()).data[0], lr = T(o.getLr()).data[0];
        Real b1 = T(o.getBeta1()).data[0], b2 = T(o.getBeta2()).data[0];
        Real eps = T(o.getEps()).data[0];
        Tensor p = T(o.getParam()), m = T(o.getM()), v = T(o.getV());
        const Tensor &g = T(o.getGrad());
        Real c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
        for (int64_t i = 0; i < p.numel(); ++i) {
          m.data[i] = b1 * m.data[i] + (1 - b1) * g.data[i];
          v.data[i] = b2 * v.data[i] + (1 - b2) * g.data[i] * g.data[i];
          p.data[i] -= lr * (m.data[i] / c1) / (std::sqrt(v.data[i] / c2) + eps);
        }
        setT(o.getNewParam(), std::move(p));
        setT(o.getNewM(), std::move(m));
        setT(o.getNewV(), std::move(v));
        return true;
      })
      .Case([&](SgdUpdateOp o) {
        // buf' = momentum buf + g; p' = p - lr buf'.
        Real lr = T(o.getLr()).data[0], mom = T(o.getMomentum()).data[0];
        Tensor p = T(o.getParam()), buf = T(o.getBuf());
        const Tensor &g = T(o.getGrad());
        for (int64_t i = 0; i < p.numel(); ++i) {
          buf.data[i] = mom * buf.data[i] + g.data[i];
          p.data[i] -= lr * buf.data[i];
        }
        setT(o.getNewParam(), std::move(p));
        setT(o.getNewBuf(), std::move(buf));
        return true;
      })
      .Case([&](ScheduleAlphaOp o) {
        setT(o, Tensor({}, scheduleAlpha));
        return true;
      })
      //===-- elementwise ---------------------------------------------===//
      .Case([&](AddOp o) { return binary(o, [](Real a, Real b) { return a + b; }); })
      .Case([&](SubOp o) { return binary(o, [](Real a, Real b) { return a - b; }); })
      .Case([&](MulOp o) { return binary(o, [](Real a, Real b) { return a * b; }); })
      .Case([&](DivOp o) { return binary(o, [](Real a, Real b) { return a / b; }); })
      .Case([&](NegOp o) { return unary(o.getInput(), o, [](Real x) { return -x; }); })
      .Case([&](ExpOp o) { return unary(o.getInput(), o, [](Real x) { return std::exp(x); }); })
      .Case([&](LogOp o) { return unary(o.getInput(), o, [](Real x) { return std::log(x); }); })
      .Case([&](SqrtOp o) { return unary(o.getInput(), o, [](Real x) { return std::sqrt(x); }); })
      .Case([&](SquareOp o) { return unary(o.getInput(), o, [](Real x) { return x * x; }); })
      .Case([&](AbsOp o) { return unary(o.getInput(), o, [](Real x) { return std::fabs(x); }); })
      .Case([&](TanhOp o) { return unary(o.getInput(), o, [](Real x) { return std::tanh(x); }); })
      .Case([&](SigmoidOp o) { return unary(o.getInput(), o, sigmoid); })
      .Case([&](SoftplusOp o) { return unary(o.getInput(), o, softplus); })
      .Case([&](LogSigmoidOp o) { return unary(o.getInput(), o, logSigmoid); })
      .Case([&](ReluOp o) { return unary(o.getInput(), o, [](Real x) { return x > 0 ? x : 0.0; }); })
      .Case([&](SignOp o) {
        return unary(o.getInput(), o, [](Real x) { return (Real)((x > 0) - (x < 0)); });
      })
      .Case([&](SizeOp o) {
        const Tensor &x = T(o.getInput());
        Real n = 1;
        for (int64_t a : o.getAxes())
          n *= x.shape[a];
        setT(o, Tensor({}, n));
        return true;
      })
      .Case([&](StopGradientOp o) { return unary(o.getInput(), o, [](Real x) { return x; }); })
      .Case([&](LeakyReluOp o) {
        Real a = o.getAlpha().convertToDouble();
        return unary(o.getInput(), o, [a](Real x) { return x > 0 ? x : a * x; });
      })
      .Case([&](FadeOp o) {
        Real a = T(o.getAlpha()).data[0];
        Tensor t = T(o.getLow());
        const Tensor &hi = T(o.getHigh());
        for (int64_t i = 0; i < t.numel(); ++i)
          t.data[i] = (1 - a) * t.data[i] + a * hi.data[i];
        setT(o, std::move(t));
        return true;
      })
      .Case<SoftmaxOp, LogSoftmaxOp>([&](auto o) {
        const Tensor &x = T(o.getInput());
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
            out.data[i + j * step] =
                isa<SoftmaxOp>(o.getOperation()) ? std::exp(ls) : ls;
          }
        }
        setT(o, std::move(out));
        return true;
      })
      //===-- shapes --------------------------------------------------===//
      .Case([&](ReshapeOp o) {
        Tensor t = T(o.getInput());
        t.shape = concreteShape(o.getType(), t.shape[0]);
        setT(o, std::move(t));
        return true;
      })
      .Case([&](TransposeOp o) {
        const Tensor &x = T(o.getInput());
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
        setT(o, std::move(out));
        return true;
      })
      .Case([&](ConcatOp o) {
        int64_t axis = o.getAxis();
        SmallVector<int64_t, 4> shape = T(o.getInputs()[0]).shape;
        shape[axis] = 0;
        for (Value v : o.getInputs())
          shape[axis] += T(v).shape[axis];
        Tensor out(shape);
        int64_t outer = 1;
        for (int64_t d = 0; d < axis; ++d)
          outer *= shape[d];
        int64_t inner = out.numel() / outer / shape[axis], at = 0;
        for (int64_t r = 0; r < outer; ++r)
          for (Value v : o.getInputs()) {
            const Tensor &t = T(v);
            int64_t chunk = t.shape[axis] * inner;
            std::copy_n(&t.data[r * chunk], chunk, &out.data[at]);
            at += chunk;
          }
        setT(o, std::move(out));
        return true;
      })
      .Case([&](SliceOp o) {
        const Tensor &x = T(o.getInput());
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
        setT(o, std::move(out));
        return true;
      })
      .Case([&](ShiftOp o) {
        const Tensor &x = T(o.getInput());
        int64_t axis = o.getAxis(), amount = o.getAmount();
        auto st = strides(x.shape);
        Tensor out(x.shape);
        for (int64_t i = 0; i < x.numel(); ++i) {
          int64_t src = (i / st[axis]) % x.shape[axis] - amount;
          if (src >= 0 && src < x.shape[axis])
            out.data[i] = x.data[i - amount * st[axis]];
        }
        setT(o, std::move(out));
        return true;
      })
      .Case<SumOp, MeanOp>([&](auto o) {
        const Tensor &x = T(o.getInput());
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
        setT(o, std::move(out));
        return true;
      })
      .Case<UpsampleOp, AvgPoolOp>([&](auto o) {
        const Tensor &x = T(o.getInput());
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
        setT(o, std::move(out));
        return true;
      })
      //===-- layers --------------------------------------------------===//
      .Case([&](MatmulOp o) {
        const Tensor &a = T(o.getLhs()), &b = T(o.getRhs());
        int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
        Tensor out({m, n});
        for (int64_t i = 0; i < m; ++i)
          for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < n; ++j)
              out.data[i * n + j] += a.data[i * k + p] * b.data[p * n + j];
        setT(o, std::move(out));
        return true;
      })
      .Case<LinearOp, MaskedLinearOp>([&](auto o) {
        // y[b, o] = sum_i x[b, i] w[o, i] (masked) + bias[o].
        const Tensor &x = T(o.getInput()), &w = T(o.getWeight());
        int64_t b = x.shape[0], in = x.shape[1], out = w.shape[0];
        std::optional<MaskKind> mask;
        if (auto m = dyn_cast<MaskedLinearOp>(o.getOperation()))
          mask = m.getMask();
        Tensor y({b, out});
        for (int64_t n = 0; n < b; ++n)
          for (int64_t r = 0; r < out; ++r) {
            Real s = o.getBias() ? T(o.getBias()).data[r] : 0.0;
            for (int64_t i = 0; i < in; ++i) {
              if (mask) {
                int64_t degree = i * out / in;
                if (*mask == MaskKind::A ? degree >= r : degree > r)
                  continue;
              }
              s += x.data[n * in + i] * w.data[r * in + i];
            }
            y.data[n * out + r] = s;
          }
        setT(o, std::move(y));
        return true;
      })
      .Case<Conv2DOp, MaskedConv2DOp>([&](auto o) {
        const Tensor &x = T(o.getInput()), &w = T(o.getWeight());
        int64_t b = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
        int64_t oc = w.shape[0], kh = w.shape[2], kw = w.shape[3];
        int64_t sh = 1, sw = 1, ph = (kh - 1) / 2, pw = (kw - 1) / 2;
        std::optional<MaskKind> mask;
        if (auto conv = dyn_cast<Conv2DOp>(o.getOperation())) {
          sh = conv.getStride()[0];
          sw = conv.getStride()[1];
          ph = conv.getPadding()[0];
          pw = conv.getPadding()[1];
        } else {
          mask = cast<MaskedConv2DOp>(o.getOperation()).getMask();
        }
        auto shape = concreteShape(o.getType(), b);
        int64_t oh = shape[2], ow = shape[3];
        Tensor y(shape);
        for (int64_t n = 0; n < b; ++n)
          for (int64_t f = 0; f < oc; ++f)
            for (int64_t i = 0; i < oh; ++i)
              for (int64_t j = 0; j < ow; ++j) {
                Real s = o.getBias() ? T(o.getBias()).data[f] : 0.0;
                for (int64_t ch = 0; ch < c; ++ch)
                  for (int64_t di = 0; di < kh; ++di)
                    for (int64_t dj = 0; dj < kw; ++dj) {
                      // PixelCNN: rows above the centre, or the centre row
                      // left of (A) or up to (B) the centre.
                      if (mask && (di > kh / 2 ||
                                   (di == kh / 2 &&
                                    (*mask == MaskKind::A ? dj >= kw / 2
                                                          : dj > kw / 2))))
                        continue;
                      int64_t yi = i * sh - ph + di, xj = j * sw - pw + dj;
                      if (yi < 0 || yi >= h || xj < 0 || xj >= wd)
                        continue;
                      s += x.data[((n * c + ch) * h + yi) * wd + xj] *
                           w.data[((f * c + ch) * kh + di) * kw + dj];
                    }
                y.data[((n * oc + f) * oh + i) * ow + j] = s;
              }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](Conv2DTransposeOp o) {
        // y[n, f, i*s - p + di, j*s - p + dj] += x[n, c, i, j] w[c, f, di, dj].
        const Tensor &x = T(o.getInput()), &w = T(o.getWeight());
        int64_t b = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
        int64_t oc = w.shape[1], kh = w.shape[2], kw = w.shape[3];
        int64_t sh = o.getStride()[0], sw = o.getStride()[1];
        int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
        auto shape = concreteShape(o.getType(), b);
        int64_t oh = shape[2], ow = shape[3];
        Tensor y(shape);
        for (int64_t n = 0; n < b; ++n) {
          for (int64_t f = 0; f < oc; ++f)
            for (int64_t i = 0; i < oh * ow; ++i)
              y.data[(n * oc + f) * oh * ow + i] =
                  o.getBias() ? T(o.getBias()).data[f] : 0.0;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < h; ++i)
              for (int64_t j = 0; j < wd; ++j) {
                Real v = x.data[((n * c + ch) * h + i) * wd + j];
                for (int64_t f = 0; f < oc; ++f)
                  for (int64_t di = 0; di < kh; ++di)
                    for (int64_t dj = 0; dj < kw; ++dj) {
                      int64_t yi = i * sh - ph + di, yj = j * sw - pw + dj;
                      if (yi < 0 || yi >= oh || yj < 0 || yj >= ow)
                        continue;
                      y.data[((n * oc + f) * oh + yi) * ow + yj] +=
                          v * w.data[((ch * oc + f) * kh + di) * kw + dj];
                    }
              }
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](Conv2DWeightGradOp o) {
        // dw[o, c, i, j] = sum_{b, h, w} g[b, o, h, w] x[b, c, h s - p + i, w s - p + j]
        const Tensor &x = T(o.getInput()), &g = T(o.getGrad());
        auto shape = concreteShape(o.getType(), 0);
        int64_t oc = shape[0], c = shape[1], kh = shape[2], kw = shape[3];
        int64_t b = x.shape[0], h = x.shape[2], wd = x.shape[3];
        int64_t gh = g.shape[2], gw = g.shape[3];
        int64_t sh = o.getStride()[0], sw = o.getStride()[1];
        int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
        Tensor dw(shape);
        for (int64_t f = 0; f < oc; ++f)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t di = 0; di < kh; ++di)
              for (int64_t dj = 0; dj < kw; ++dj) {
                Real s = 0;
                for (int64_t n = 0; n < b; ++n)
                  for (int64_t i = 0; i < gh; ++i)
                    for (int64_t j = 0; j < gw; ++j) {
                      int64_t yi = i * sh - ph + di, xj = j * sw - pw + dj;
                      if (yi < 0 || yi >= h || xj < 0 || xj >= wd)
                        continue;
                      s += g.data[((n * oc + f) * gh + i) * gw + j] *
                           x.data[((n * c + ch) * h + yi) * wd + xj];
                    }
                dw.data[((f * c + ch) * kh + di) * kw + dj] = s;
              }
        setT(o, std::move(dw));
        return true;
      })
      .Case([&](EmbeddingGradOp o) {
        const Tensor &ids = T(o.getIds()), &g = T(o.getGrad());
        auto shape = concreteShape(o.getType(), 0);
        int64_t vocab = shape[0], e = shape[1];
        Tensor dt(shape);
        for (int64_t i = 0; i < ids.numel(); ++i) {
          int64_t id = (int64_t)ids.data[i];
          if (id < 0 || id >= vocab)
            return fail(o, "token id " + Twine(id) + " is out of range");
          for (int64_t k = 0; k < e; ++k)
            dt.data[id * e + k] += g.data[i * e + k];
        }
        setT(o, std::move(dt));
        return true;
      })
      .Case([&](RowLSTMGradOp o) {
        // Forward again, keeping every row's gates and states, then back
        // through the rows: row r's gates read x[r] (mask B) and h[r-1].
        const Tensor &x = T(o.getInput()), &wis = T(o.getWIs()), &wss = T(o.getWSs());
        const Tensor &bias = T(o.getBias()), &gy = T(o.getGrad());
        int64_t b = x.shape[0], c = x.shape[1], rows = x.shape[2], cols = x.shape[3];
        int64_t g4 = wis.shape[0], hid = g4 / 4, k = wis.shape[3], half = k / 2;
        Tensor dx(x.shape), dwis(wis.shape), dwss(wss.shape), db(bias.shape);
        // Per row: activated gates i, f, g, o (4H x cols), cell c and hidden h.
        std::vector<Real> act(rows * g4 * cols), cell((rows + 1) * hid * cols),
            hidden((rows + 1) * hid * cols);
        auto X = [&](int64_t n, int64_t ch, int64_t r, int64_t j) -> Real {
          return x.data[((n * c + ch) * rows + r) * cols + j];
        };
        for (int64_t n = 0; n < b; ++n) {
          std::fill(cell.begin(), cell.end(), 0.0L);
          std::fill(hidden.begin(), hidden.end(), 0.0L);
          // cell/hidden row r + 1 holds row r; row 0 is the zero state.
          for (int64_t r = 0; r < rows; ++r) {
            Real *prevH = &hidden[r * hid * cols];
            for (int64_t g = 0; g < g4; ++g)
              for (int64_t j = 0; j < cols; ++j) {
                Real s = bias.data[g];
                for (int64_t dj = 0; dj < k; ++dj) {
                  int64_t src = j - half + dj;
                  if (src < 0 || src >= cols)
                    continue;
                  if (dj <= half)
                    for (int64_t ch = 0; ch < c; ++ch)
                      s += X(n, ch, r, src) * wis.data[(g * c + ch) * k + dj];
                  for (int64_t hh = 0; hh < hid; ++hh)
                    s += prevH[hh * cols + src] * wss.data[(g * hid + hh) * k + dj];
                }
                act[(r * g4 + g) * cols + j] = g / hid == 2 ? std::tanh(s) : sigmoid(s);
              }
            for (int64_t hh = 0; hh < hid; ++hh)
              for (int64_t j = 0; j < cols; ++j) {
                auto A = [&](int64_t q) { return act[(r * g4 + q * hid + hh) * cols + j]; };
                Real cv = A(1) * cell[(r * hid + hh) * cols + j] + A(0) * A(2);
                cell[((r + 1) * hid + hh) * cols + j] = cv;
                hidden[((r + 1) * hid + hh) * cols + j] = A(3) * std::tanh(cv);
              }
          }
          // Backwards: dh and dc of row r, carried to row r - 1.
          std::vector<Real> dh(hid * cols, 0.0L), dc(hid * cols, 0.0L), dg(g4 * cols);
          for (int64_t r = rows - 1; r >= 0; --r) {
            for (int64_t hh = 0; hh < hid; ++hh)
              for (int64_t j = 0; j < cols; ++j) {
                int64_t at = hh * cols + j;
                auto A = [&](int64_t q) { return act[(r * g4 + q * hid + hh) * cols + j]; };
                Real dhv = dh[at] + gy.data[((n * hid + hh) * rows + r) * cols + j];
                Real cv = cell[((r + 1) * hid + hh) * cols + j];
                Real tc = std::tanh(cv);
                Real dcv = dc[at] + dhv * A(3) * (1 - tc * tc);
                Real cprev = cell[(r * hid + hh) * cols + j];
                dg[(0 * hid + hh) * cols + j] = dcv * A(2) * A(0) * (1 - A(0));
                dg[(1 * hid + hh) * cols + j] = dcv * cprev * A(1) * (1 - A(1));
                dg[(2 * hid + hh) * cols + j] = dcv * A(0) * (1 - A(2) * A(2));
                dg[(3 * hid + hh) * cols + j] = dhv * tc * A(3) * (1 - A(3));
                dc[at] = dcv * A(1);
              }
            std::fill(dh.begin(), dh.end(), 0.0L);
            Real *prevH = &hidden[r * hid * cols];
            for (int64_t g = 0; g < g4; ++g)
              for (int64_t j = 0; j < cols; ++j) {
                Real d = dg[g * cols + j];
                db.data[g] += d;
                for (int64_t dj = 0; dj < k; ++dj) {
                  int64_t src = j - half + dj;
                  if (src < 0 || src >= cols)
                    continue;
                  if (dj <= half)
                    for (int64_t ch = 0; ch < c; ++ch) {
                      dwis.data[(g * c + ch) * k + dj] += d * X(n, ch, r, src);
                      dx.data[((n * c + ch) * rows + r) * cols + src] +=
                          d * wis.data[(g * c + ch) * k + dj];
                    }
                  for (int64_t hh = 0; hh < hid; ++hh) {
                    dwss.data[(g * hid + hh) * k + dj] += d * prevH[hh * cols + src];
                    dh[hh * cols + src] += d * wss.data[(g * hid + hh) * k + dj];
                  }
                }
              }
          }
        }
        setT(o.getDInput(), std::move(dx));
        setT(o.getDWIs(), std::move(dwis));
        setT(o.getDWSs(), std::move(dwss));
        setT(o.getDBias(), std::move(db));
        return true;
      })
      .Case([&](NadeGradOp o) {
        // Forward again, then backwards over d with s = sum of the hidden
        // adjoints of the conditionals after d.
        const Tensor &x = T(o.getInput()), &w = T(o.getW()), &c = T(o.getC());
        const Tensor &v = T(o.getV()), &g = T(o.getGrad());
        int64_t b = x.shape[0], d = x.shape[1], hid = w.shape[0];
        Tensor dx(x.shape), dw(w.shape), dc(c.shape), dv(v.shape), db({d});
        std::vector<Real> a((d + 1) * hid), s(hid);
        for (int64_t n = 0; n < b; ++n) {
          std::copy(c.data.begin(), c.data.end(), a.begin());
          for (int64_t i = 0; i < d; ++i)
            for (int64_t j = 0; j < hid; ++j)
              a[(i + 1) * hid + j] = a[i * hid + j] + w.data[j * d + i] * x.data[n * d + i];
          std::fill(s.begin(), s.end(), 0.0);
          for (int64_t i = d - 1; i >= 0; --i) {
            // x_i feeds a_{i+1} and later: its weight column meets s.
            Real dxi = 0;
            for (int64_t j = 0; j < hid; ++j) {
              dw.data[j * d + i] += s[j] * x.data[n * d + i];
              dxi += w.data[j * d + i] * s[j];
            }
            dx.data[n * d + i] = dxi;
            Real gi = g.data[n * d + i];
            db.data[i] += gi;
            for (int64_t j = 0; j < hid; ++j) {
              Real hj = sigmoid(a[i * hid + j]);
              dv.data[i * hid + j] += gi * hj;
              s[j] += gi * v.data[i * hid + j] * hj * (1 - hj);
            }
          }
          for (int64_t j = 0; j < hid; ++j)
            dc.data[j] += s[j];
        }
        setT(o.getDInput(), std::move(dx));
        setT(o.getDW(), std::move(dw));
        setT(o.getDC(), std::move(dc));
        setT(o.getDV(), std::move(dv));
        setT(o.getDB(), std::move(db));
        return true;
      })
      .Case([&](BatchNormOp o) {
        // Per channel c: batch mean and (biased) variance over B and space.
        const Tensor &x = T(o.getInput()), &g = T(o.getGamma()), &bt = T(o.getBeta());
        int64_t b = x.shape[0], c = x.shape[1], inner = x.numel() / b / c;
        Real eps = o.getEps().convertToDouble();
        Tensor y(x.shape);
        for (int64_t ch = 0; ch < c; ++ch) {
          Real mean = 0, var = 0;
          for (int64_t n = 0; n < b; ++n)
            for (int64_t i = 0; i < inner; ++i)
              mean += x.data[(n * c + ch) * inner + i];
          mean /= b * inner;
          for (int64_t n = 0; n < b; ++n)
            for (int64_t i = 0; i < inner; ++i) {
              Real d = x.data[(n * c + ch) * inner + i] - mean;
              var += d * d;
            }
          var /= b * inner;
          Real inv = 1 / std::sqrt(var + eps);
          for (int64_t n = 0; n < b; ++n)
            for (int64_t i = 0; i < inner; ++i) {
              int64_t at = (n * c + ch) * inner + i;
              y.data[at] = g.data[ch] * (x.data[at] - mean) * inv + bt.data[ch];
            }
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](OneHotOp o) {
        const Tensor &ids = T(o.getIds());
        int64_t k = o.getClasses();
        Tensor y(concreteShape(o.getType(), ids.shape[0]));
        for (int64_t i = 0; i < ids.numel(); ++i) {
          int64_t id = (int64_t)ids.data[i];
          if (id >= 0 && id < k)
            y.data[i * k + id] = 1;
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](EmbeddingOp o) {
        const Tensor &ids = T(o.getIds()), &table = T(o.getTable());
        int64_t vocab = table.shape[0], e = table.shape[1];
        Tensor y(concreteShape(o.getType(), ids.shape[0]));
        for (int64_t i = 0; i < ids.numel(); ++i) {
          int64_t id = (int64_t)ids.data[i];
          if (id < 0 || id >= vocab)
            return fail(o, "token id " + Twine(id) +
                               " is out of range for a vocabulary of " +
                               Twine(vocab));
          std::copy_n(&table.data[id * e], e, &y.data[i * e]);
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](LSTMCellOp o) {
        // gates = x W_ih^T + h W_hh^T + b, in the order i, f, g, o.
        const Tensor &x = T(o.getInput()), &h = T(o.getH()), &c = T(o.getC());
        const Tensor &wih = T(o.getWIh()), &whh = T(o.getWHh()), &bias = T(o.getBias());
        int64_t b = x.shape[0], in = x.shape[1], hid = h.shape[1];
        Tensor hn({b, hid}), cn({b, hid});
        std::vector<Real> gates(4 * hid);
        for (int64_t n = 0; n < b; ++n) {
          for (int64_t g = 0; g < 4 * hid; ++g) {
            Real s = bias.data[g];
            for (int64_t i = 0; i < in; ++i)
              s += x.data[n * in + i] * wih.data[g * in + i];
            for (int64_t i = 0; i < hid; ++i)
              s += h.data[n * hid + i] * whh.data[g * hid + i];
            gates[g] = s;
          }
          for (int64_t j = 0; j < hid; ++j) {
            Real ig = sigmoid(gates[j]), fg = sigmoid(gates[hid + j]);
            Real gg = std::tanh(gates[2 * hid + j]), og = sigmoid(gates[3 * hid + j]);
            Real cv = fg * c.data[n * hid + j] + ig * gg;
            cn.data[n * hid + j] = cv;
            hn.data[n * hid + j] = og * std::tanh(cv);
          }
        }
        setT(o.getHNext(), std::move(hn));
        setT(o.getCNext(), std::move(cn));
        return true;
      })
      .Case([&](RowLSTMOp o) {
        // Row by row: gates(r) = maskB_conv1xK(x[r], w_is) + conv1xK(h[r-1], w_ss) + b.
        const Tensor &x = T(o.getInput()), &wis = T(o.getWIs()), &wss = T(o.getWSs());
        const Tensor &bias = T(o.getBias());
        int64_t b = x.shape[0], c = x.shape[1], rows = x.shape[2], cols = x.shape[3];
        int64_t g4 = wis.shape[0], hid = g4 / 4, k = wis.shape[3], half = k / 2;
        Tensor y({b, hid, rows, cols});
        std::vector<Real> hPrev(hid * cols), cPrev(hid * cols), gates(g4 * cols);
        for (int64_t n = 0; n < b; ++n) {
          std::fill(hPrev.begin(), hPrev.end(), 0.0);
          std::fill(cPrev.begin(), cPrev.end(), 0.0);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t g = 0; g < g4; ++g)
              for (int64_t j = 0; j < cols; ++j) {
                Real s = bias.data[g];
                for (int64_t dj = 0; dj < k; ++dj) {
                  int64_t src = j - half + dj;
                  if (src < 0 || src >= cols)
                    continue;
                  if (dj <= half) // mask B: the current column and left of it
                    for (int64_t ch = 0; ch < c; ++ch)
                      s += x.data[((n * c + ch) * rows + r) * cols + src] *
                           wis.data[(g * c + ch) * k + dj];
                  for (int64_t hh = 0; hh < hid; ++hh)
                    s += hPrev[hh * cols + src] * wss.data[(g * hid + hh) * k + dj];
                }
                gates[g * cols + j] = s;
              }
            for (int64_t hh = 0; hh < hid; ++hh)
              for (int64_t j = 0; j < cols; ++j) {
                Real ig = sigmoid(gates[hh * cols + j]);
                Real fg = sigmoid(gates[(hid + hh) * cols + j]);
                Real gg = std::tanh(gates[(2 * hid + hh) * cols + j]);
                Real og = sigmoid(gates[(3 * hid + hh) * cols + j]);
                Real cv = fg * cPrev[hh * cols + j] + ig * gg;
                cPrev[hh * cols + j] = cv;
                Real hv = og * std::tanh(cv);
                y.data[((n * hid + hh) * rows + r) * cols + j] = hv;
              }
            for (int64_t hh = 0; hh < hid; ++hh)
              for (int64_t j = 0; j < cols; ++j)
                hPrev[hh * cols + j] = y.data[((n * hid + hh) * rows + r) * cols + j];
          }
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](NadeOp o) {
        // a_0 = c; logit_d = b_d + V[d] . sigmoid(a_d); a_{d+1} = a_d + W[:, d] x_d.
        const Tensor &x = T(o.getInput()), &w = T(o.getW()), &c = T(o.getC());
        const Tensor &v = T(o.getV()), &bb = T(o.getB());
        int64_t b = x.shape[0], d = x.shape[1], hid = w.shape[0];
        Tensor y({b, d});
        std::vector<Real> a(hid);
        for (int64_t n = 0; n < b; ++n) {
          std::copy(c.data.begin(), c.data.end(), a.begin());
          for (int64_t i = 0; i < d; ++i) {
            Real s = bb.data[i];
            for (int64_t j = 0; j < hid; ++j)
              s += v.data[i * hid + j] * sigmoid(a[j]);
            y.data[n * d + i] = s;
            Real xi = x.data[n * d + i];
            for (int64_t j = 0; j < hid; ++j)
              a[j] += w.data[j * d + i] * xi;
          }
        }
        setT(o, std::move(y));
        return true;
      })
      .Case([&](ReconLossOp o) {
        const Tensor &p = T(o.getPrediction()), &t = T(o.getTarget());
        Tensor e(p.shape);
        switch (o.getKind()) {
        case LossKind::mse:
          for (int64_t i = 0; i < p.numel(); ++i)
            e.data[i] = (p.data[i] - t.data[i]) * (p.data[i] - t.data[i]);
          break;
        case LossKind::l1:
          for (int64_t i = 0; i < p.numel(); ++i)
            e.data[i] = std::fabs(p.data[i] - t.data[i]);
          break;
        case LossKind::bce_logits:
          for (int64_t i = 0; i < p.numel(); ++i)
            e.data[i] = softplus(p.data[i]) - t.data[i] * p.data[i];
          break;
        case LossKind::softmax_xent: {
          Tensor ls = logSoftmaxLast(p);
          for (int64_t i = 0; i < p.numel(); ++i)
            e.data[i] = -t.data[i] * ls.data[i];
          break;
        }
        }
        setT(o, perExampleSum(e));
        return true;
      })
      //===-- stochastic nodes and densities --------------------------===//
      .Case([&](NormalOp o) {
        Distribution d{DistKind::normal, o.getParam(), {T(o.getLoc()), T(o.getSpread())}, {}};
        setD(o, std::move(d));
        return true;
      })
      .Case([&](BernoulliOp o) {
        setD(o, Distribution{DistKind::bernoulli, NormalParam::scale, {T(o.getLogits())}, {}});
        return true;
      })
      .Case([&](CategoricalOp o) {
        setD(o, Distribution{DistKind::categorical, NormalParam::scale, {T(o.getLogits())}, {}});
        return true;
      })
      .Case([&](UniformOp o) {
        setD(o, Distribution{DistKind::uniform, NormalParam::scale, {T(o.getLow()), T(o.getHigh())}, {}});
        return true;
      })
      .Case([&](MixtureNormalOp o) {
        setD(o, Distribution{DistKind::mixture_normal, NormalParam::logvar,
                             {T(o.getLogits()), T(o.getMeans()), T(o.getLogvars())}, {}});
        return true;
      })
      .Case([&](SampleOp o) {
        setT(o, sample(D(o.getDist()), get(o.getKey()).key, (uint32_t)o.getStream(), 0));
        return true;
      })
      .Case([&](LogProbOp o) {
        setT(o, logProb(D(o.getDist()), T(o.getValue())));
        return true;
      })
      .Case([&](KLOp o) {
        const Distribution &q = D(o.getQ()), &p = D(o.getP());
        if (o.getMethod() == KLMethod::analytic) {
          setT(o, analyticKL(q, p));
          return true;
        }
        Tensor lq = logProb(q, T(o.getSample())), lp = logProb(p, T(o.getSample()));
        for (int64_t i = 0; i < lq.numel(); ++i)
          lq.data[i] -= lp.data[i];
        setT(o, std::move(lq));
        return true;
      })
      .Case([&](ElboOp o) {
        Tensor e = T(o.getLoglik());
        const Tensor &kl = T(o.getKl());
        Real beta = o.getBeta().convertToDouble();
        for (int64_t i = 0; i < e.numel(); ++i)
          e.data[i] -= beta * kl.data[i];
        setT(o, std::move(e));
        return true;
      })
      .Case([&](IwaeOp o) {
        // log (1/k) sum_j p(x | z_j) p(z_j) / q(z_j), z_j ~ q.
        const Distribution &q = D(o.getQ()), &p = D(o.getP());
        uint64_t key = get(o.getKey()).key;
        int64_t k = o.getK(), elems = 1;
        for (int64_t dim : q.sampleShape)
          elems *= dim;
        int64_t b = q.sampleShape[0];
        std::vector<std::vector<Real>> w(b, std::vector<Real>(k));
        for (int64_t j = 0; j < k; ++j) {
          Tensor z = sample(q, key, (uint32_t)o.getStream(), (uint64_t)(j * elems));
          std::vector<RtValue> ll;
          if (!run(o.getBody(), {RtValue::ofTensor(z)}, ll))
            return false;
          // With `log_weight` (gm-expand-objectives) the region yields the
          // whole log-weight already.
          bool whole = o.getLogWeight();
          Tensor lp = whole ? Tensor() : logProb(p, z), lq = whole ? Tensor() : logProb(q, z);
          for (int64_t n = 0; n < b; ++n)
            w[n][j] = ll[0].tensor.data[n] + (whole ? 0 : lp.data[n] - lq.data[n]);
        }
        Tensor out({b});
        for (int64_t n = 0; n < b; ++n)
          out.data[n] = logSumExp(w[n]) - std::log((Real)k);
        setT(o, std::move(out));
        return true;
      })
      .Case([&](AdversarialOp o) {
        // mean log sigmoid(real) + mean log sigmoid(-fake).
        const Tensor &r = T(o.getReal()), &f = T(o.getFake());
        Real v = 0, u = 0;
        for (Real x : r.data)
          v += logSigmoid(x);
        for (Real x : f.data)
          u += logSigmoid(-x);
        setT(o, Tensor({}, v / r.numel() + u / f.numel()));
        return true;
      })
      .Case([&](MutualInfoOp o) {
        Tensor lq = logProb(D(o.getPosterior()), T(o.getCode()));
        Tensor lp = logProb(D(o.getPrior()), T(o.getCode()));
        for (int64_t i = 0; i < lq.numel(); ++i)
          lq.data[i] -= lp.data[i];
        setT(o, std::move(lq));
        return true;
      })
      .Default([&](Operation *o) {
        return fail(o, "the evaluator does not run this op");
      });
}

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
