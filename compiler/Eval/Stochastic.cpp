//===- Stochastic.cpp - distributions, samples, densities and divergences ---===//
//
// Distribution values hold their parameters broadcast to full batched
// shapes. Draws use the counter-based Philox streams of
// runtime/include/gmrt/rng.h, as compiled code does, so the same key and
// stream give the same numbers.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Kernels.h"
#include "compiler/Eval/Rules.h"

#include "runtime/include/gmrt/rng.h"

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

Real normalSigma(const Distribution &d, int64_t i) {
  Real s = d.params[1].data[i];
  return d.normalParam == NormalParam::logvar ? std::exp(0.5 * s) : s;
}

/// log P(x) of one value of a discretised logistic on the grid k / (L - 1):
/// with h = 1 / (2 (L - 1)), a = (x - mu + h) / s and b = (x - mu - h) / s,
/// P = sigmoid(a) - sigmoid(b) inside, sigmoid(a) at 0 and 1 - sigmoid(b)
/// at 1. Written as
///   (1 - e1) log sigmoid(a) + (1 - e0) log sigmoid(-b)
///     + (1 - e0 - e1) log(1 - exp(-(a - b))),
/// e0 = max(0, 1 - (L - 1) x) and e1 = max(0, (L - 1) x - (L - 2)) the end
/// indicators, which is the same on the grid (sigmoid(a) - sigmoid(b) =
/// sigmoid(a) sigmoid(-b) (1 - e^-(a - b))) and is what gm-expand-objectives
/// writes. a - b = 2h / s is floored at 1e-6, so a huge scale gives a
/// finite log.
Real discretizedLogistic(Real x, Real mu, Real logScale, int64_t levels) {
  Real steps = Real(levels - 1), h = 0.5 / steps, inv = std::exp(-logScale);
  Real a = (x - mu + h) * inv, b = (x - mu - h) * inv;
  Real e0 = std::max<Real>(0, 1 - steps * x), e1 = std::max<Real>(0, steps * x - (steps - 1));
  Real gap = std::max<Real>(2 * h * inv, 1e-6);
  return (1 - e1) * logSigmoid(a) + (1 - e0) * logSigmoid(-b) +
         (1 - e0 - e1) * std::log(-std::expm1(-gap));
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
  case DistKind::discretized_logistic:
    for (int64_t i = 0; i < x.numel(); ++i)
      lp.data[i] = discretizedLogistic(x.data[i], d.params[0].data[i], d.params[1].data[i],
                                       d.levels);
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
      lp.data[i] = x.data[i] >= lo && x.data[i] < hi ? -std::log(hi - lo)
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

/// The discretised logistic's draw with uniform |u|: a logistic draw
/// rounded to the grid k / (L - 1) and clamped into [0, 1].
Real drawDiscretizedLogistic(Real mu, Real logScale, Real u, int64_t levels) {
  Real steps = Real(levels - 1);
  Real y = mu + std::exp(logScale) * std::log(u / (1 - u));
  return std::clamp<Real>(std::nearbyint(y * steps), 0, steps) / steps;
}

/// One draw from |d| (see the header for the formulas).
Tensor sample(const Distribution &d, uint64_t key, uint32_t stream, uint64_t base) {
  Tensor z(d.sampleShape);
  switch (d.kind) {
  case DistKind::normal:
    for (int64_t i = 0; i < z.numel(); ++i)
      z.data[i] = d.params[0].data[i] + normalSigma(d, i) * gmrt_normal(key, stream, base + i);
    return z;
  case DistKind::uniform:
    for (int64_t i = 0; i < z.numel(); ++i) {
      Real lo = d.params[0].data[i], hi = d.params[1].data[i];
      z.data[i] = lo + (hi - lo) * gmrt_uniform(key, stream, base + i, 2);
    }
    return z;
  case DistKind::bernoulli:
    for (int64_t i = 0; i < z.numel(); ++i)
      z.data[i] = gmrt_uniform(key, stream, base + i, 2) < sigmoid(d.params[0].data[i]) ? 1.0 : 0.0;
    return z;
  case DistKind::discretized_logistic:
    for (int64_t i = 0; i < z.numel(); ++i)
      z.data[i] = drawDiscretizedLogistic(d.params[0].data[i], d.params[1].data[i],
                                          gmrt_uniform(key, stream, base + i, 2), d.levels);
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
        z.data[n * dim + j] = mu.data[at] + std::exp(0.5 * lv.data[at]) *
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
      kl.data[i] =
          pq * (logSigmoid(lq) - logSigmoid(lp)) + (1 - pq) * (logSigmoid(-lq) - logSigmoid(-lp));
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

void ::gm::eval::registerStochasticRules(Rules &rules) {
  rules.def<NormalOp>([](NormalOp o, Frame &frame) {
    Distribution d{
        DistKind::normal, o.getParam(), {frame.T(o.getLoc()), frame.T(o.getSpread())}, {}};
    frame.setD(o, std::move(d));
    return true;
  });
  rules.def<BernoulliOp>([](BernoulliOp o, Frame &frame) {
    frame.setD(o,
               Distribution{DistKind::bernoulli, NormalParam::scale, {frame.T(o.getLogits())}, {}});
    return true;
  });
  rules.def<DiscretizedLogisticOp>([](DiscretizedLogisticOp o, Frame &frame) {
    Distribution d{DistKind::discretized_logistic,
                   NormalParam::scale,
                   {frame.T(o.getLoc()), frame.T(o.getLogScale())},
                   {}};
    d.levels = (int64_t)o.getLevels();
    frame.setD(o, std::move(d));
    return true;
  });
  rules.def<CategoricalOp>([](CategoricalOp o, Frame &frame) {
    frame.setD(
        o, Distribution{DistKind::categorical, NormalParam::scale, {frame.T(o.getLogits())}, {}});
    return true;
  });
  rules.def<UniformOp>([](UniformOp o, Frame &frame) {
    frame.setD(o, Distribution{DistKind::uniform,
                               NormalParam::scale,
                               {frame.T(o.getLow()), frame.T(o.getHigh())},
                               {}});
    return true;
  });
  rules.def<MixtureNormalOp>([](MixtureNormalOp o, Frame &frame) {
    frame.setD(
        o, Distribution{DistKind::mixture_normal,
                        NormalParam::logvar,
                        {frame.T(o.getLogits()), frame.T(o.getMeans()), frame.T(o.getLogvars())},
                        {}});
    return true;
  });
  rules.def<SampleOp>([](SampleOp o, Frame &frame) {
    frame.setT(o,
               sample(frame.D(o.getDist()), frame.get(o.getKey()).key, (uint32_t)o.getStream(), 0));
    return true;
  });
  rules.def<LogProbOp>([](LogProbOp o, Frame &frame) {
    frame.setT(o, logProb(frame.D(o.getDist()), frame.T(o.getValue())));
    return true;
  });
  rules.def<KLOp>([](KLOp o, Frame &frame) {
    const Distribution &q = frame.D(o.getQ()), &p = frame.D(o.getP());
    if (o.getMethod() == KLMethod::analytic) {
      frame.setT(o, analyticKL(q, p));
      return true;
    }
    Tensor lq = logProb(q, frame.T(o.getSample())), lp = logProb(p, frame.T(o.getSample()));
    for (int64_t i = 0; i < lq.numel(); ++i)
      lq.data[i] -= lp.data[i];
    frame.setT(o, std::move(lq));
    return true;
  });
  rules.def<ElboOp>([](ElboOp o, Frame &frame) {
    Tensor e = frame.T(o.getLoglik());
    const Tensor &kl = frame.T(o.getKl());
    Real beta = o.getBeta().convertToDouble();
    for (int64_t i = 0; i < e.numel(); ++i)
      e.data[i] -= beta * kl.data[i];
    frame.setT(o, std::move(e));
    return true;
  });
  rules.def<IwaeOp>([](IwaeOp o, Frame &frame) {
    // log (1/k) sum_j p(x | z_j) p(z_j) / q(z_j), z_j ~ q.
    const Distribution &q = frame.D(o.getQ()), &p = frame.D(o.getP());
    uint64_t key = frame.get(o.getKey()).key;
    int64_t k = o.getDraws() ? (int64_t)frame.T(o.getDraws()).data[0] : (int64_t)o.getK();
    int64_t elems = 1;
    if (k < 1)
      return frame.fail(o, "needs at least one draw, got " + Twine(k));
    for (int64_t dim : q.sampleShape)
      elems *= dim;
    int64_t b = q.sampleShape[0];
    std::vector<std::vector<Real>> w(b, std::vector<Real>(k));
    for (int64_t j = 0; j < k; ++j) {
      Tensor z = sample(q, key, (uint32_t)o.getStream(), (uint64_t)(j * elems));
      std::vector<RtValue> ll;
      if (!frame.run(o.getBody(), {RtValue::ofTensor(z)}, ll))
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
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<ArSampleOp>([](ArSampleOp o, Frame &frame) {
    // From x = 0, for each value d of an example in row-major order: the
    // region's parameters at the partial sample, then x_d drawn from them
    // with u_d: [u_d < sigmoid(logit)], or the discretised logistic's draw.
    const Tensor &u = frame.T(o.getUniforms());
    std::optional<uint64_t> levels = o.getLevels();
    Tensor x(u.shape);
    int64_t b = u.shape[0], d = b ? u.numel() / b : 0;
    for (int64_t i = 0; i < d; ++i) {
      std::vector<RtValue> out;
      if (!frame.run(o.getBody(), {RtValue::ofTensor(x)}, out))
        return false;
      const Tensor &l = out[0].tensor;
      for (int64_t n = 0; n < b; ++n) {
        int64_t at = n * d + i;
        x.data[at] = levels ? drawDiscretizedLogistic(l.data[at], out[1].tensor.data[at],
                                                      u.data[at], (int64_t)*levels)
                            : u.data[at] < sigmoid(l.data[at]) ? 1 : 0;
      }
    }
    frame.setT(o, std::move(x));
    return true;
  });
  rules.def<AdversarialOp>([](AdversarialOp o, Frame &frame) {
    // mean log sigmoid(real) + mean log sigmoid(-fake).
    const Tensor &r = frame.T(o.getReal()), &f = frame.T(o.getFake());
    Real v = 0, u = 0;
    for (Real x : r.data)
      v += logSigmoid(x);
    for (Real x : f.data)
      u += logSigmoid(-x);
    frame.setT(o, Tensor({}, v / r.numel() + u / f.numel()));
    return true;
  });
  rules.def<MutualInfoOp>([](MutualInfoOp o, Frame &frame) {
    Tensor lq = logProb(frame.D(o.getPosterior()), frame.T(o.getCode()));
    Tensor lp = logProb(frame.D(o.getPrior()), frame.T(o.getCode()));
    for (int64_t i = 0; i < lq.numel(); ++i)
      lq.data[i] -= lp.data[i];
    frame.setT(o, std::move(lq));
    return true;
  });
}
