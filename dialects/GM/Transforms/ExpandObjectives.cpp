//===- ExpandObjectives.cpp - densities and divergences as arithmetic -----===//
//
// Rewrites, inside every gm.func, the high-level probabilistic ops into gm
// primitives whose gradients are known, with the same values the reference
// evaluator computes for the ops themselves. Runs after gm-build-losses.
// In a training loss, an importance-weighted bound is first unrolled into
// its k draws (a loop has no gradient rule); evaluations keep the loop, whose
// k is a run-time argument.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>

namespace mlir::gm {
#define GEN_PASS_DEF_GMEXPANDOBJECTIVESPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

/// The shared builders (GMBuilder.h) plus densities and divergences.
struct Expander : GMBuilder {
  using GMBuilder::GMBuilder;

  /// log sigma and sigma^2 of a gm.normal, from its scale or log-variance.
  std::pair<Value, Value> logSigmaAndVariance(NormalOp n) {
    Value s = n.getSpread();
    if (n.getParam() == NormalParam::logvar)
      return {scale(s, 0.5), exp(s)};
    return {log(s), mul(s, s)};
  }

  /// Per-example log-density of |x| under the distribution |dist|, or null
  /// when there is no expansion.
  Value logProb(Value dist, Value x) {
    Operation *def = dist.getDefiningOp();
    if (auto n = dyn_cast_or_null<NormalOp>(def)) {
      // -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
      auto [logSigma, var] = logSigmaAndVariance(n);
      Value d = sub(x, n.getLoc());
      Value quad = div(mul(d, d), scale(var, 2.0));
      return sumExample(sub(neg(add(quad, logSigma)), fill(0.5 * kLog2Pi, x)));
    }
    if (auto bern = dyn_cast_or_null<BernoulliOp>(def)) {
      // x l - softplus(l)
      Value l = bern.getLogits();
      return sumExample(sub(mul(x, l), b.create<SoftplusOp>(loc, l)));
    }
    if (auto dl = dyn_cast_or_null<DiscretizedLogisticOp>(def))
      return sumExample(discretizedLogistic(dl, x));
    if (auto cat = dyn_cast_or_null<CategoricalOp>(def))
      return sumExample(mul(x, logSoftmaxLast(cat.getLogits())));
    if (auto u = dyn_cast_or_null<UniformOp>(def))
      // -log(high - low), on the support (samples never leave it).
      return sumExample(neg(log(sub(u.getHigh(), u.getLow()))));
    if (auto m = dyn_cast_or_null<MixtureNormalOp>(def))
      return mixtureNormal(m, x);
    return {};
  }

  /// log sum_k pi_k N(x; mu_k, diag(exp(logvar_k))), pi = softmax(logits):
  /// with x (B, D), logits (B, K), means and logvars (B, K, D),
  ///   t_k = log pi_k + sum_d -(x_d - mu_kd)^2 / (2 var_kd)
  ///         - logvar_kd / 2 - log(2 pi) / 2,                    (B, K)
  /// then the log-sum-exp over k as sum_k softmax(t)_k (t_k - ls_k), ls =
  /// log_softmax(t): every t_k - ls_k is the log-sum-exp, and the weights
  /// keep the rounding of components far from x (t_k hugely negative) out.
  Value mixtureNormal(MixtureNormalOp m, Value x) {
    Value mu = m.getMeans(), lv = m.getLogvars();
    Value xk = expand(x, {1}, mu); // (B, D) -> (B, K, D)
    Value d = sub(xk, mu);
    Value quad = div(mul(d, d), scale(exp(lv), 2.0));
    Value perDim = sub(neg(add(quad, scale(lv, 0.5))), fill(0.5 * kLog2Pi, lv));
    Value t = add(sum(perDim, {2}), logSoftmaxLast(m.getLogits()));
    Value ls = logSoftmaxLast(t);
    return sum(mul(exp(ls), sub(t, ls)), {1});
  }

  /// log P(x) per value of a discretised logistic on the grid k / (L - 1),
  /// as the evaluator defines it (Stochastic.cpp): with s = exp(log_scale),
  /// h = 1 / (2 (L - 1)), a = (x - mu + h) / s, b = (x - mu - h) / s,
  ///   (1 - e1) log sigmoid(a) + (1 - e0) log sigmoid(-b)
  ///     + (1 - e0 - e1) log(1 - exp(-max(a - b, 1e-6))),
  /// e0 = relu(1 - (L - 1) x) and e1 = relu((L - 1) x - (L - 2)) marking
  /// the end values, which take the tails. Every term is finite, so no
  /// 0 * inf; the floor keeps a huge scale's log finite.
  Value discretizedLogistic(DiscretizedLogisticOp dl, Value x) {
    double steps = double(dl.getLevels() - 1), h = 0.5 / steps;
    Value inv = exp(neg(dl.getLogScale()));
    Value centred = sub(x, dl.getLoc());
    Value a = mul(add(centred, fill(h, x)), inv);
    Value bb = mul(sub(centred, fill(h, x)), inv);
    auto relu = [&](Value v) { return b.create<ReluOp>(loc, v).getResult(); };
    Value e0 = relu(sub(fill(1.0, x), scale(x, steps)));
    Value e1 = relu(sub(scale(x, steps), fill(steps - 1, x)));
    Value one = fill(1.0, x), floor = fill(1e-6, x);
    Value gap = add(floor, relu(sub(scale(inv, 2 * h), floor)));
    Value inside = log(sub(one, exp(neg(gap))));
    return add(add(mul(sub(one, e1), logSigmoid(a)), mul(sub(one, e0), logSigmoid(neg(bb)))),
               mul(sub(sub(one, e0), e1), inside));
  }

  /// Analytic per-example KL(q || p); null where there is no closed form.
  Value analyticKL(Value q, Value p) {
    Operation *dq = q.getDefiningOp(), *dp = p.getDefiningOp();
    auto nq = dyn_cast_or_null<NormalOp>(dq), np = dyn_cast_or_null<NormalOp>(dp);
    if (nq && np) {
      // log(sp / sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2
      auto [lq, vq] = logSigmaAndVariance(nq);
      auto [lp, vp] = logSigmaAndVariance(np);
      Value dm = sub(nq.getLoc(), np.getLoc());
      Value ratio = div(add(vq, mul(dm, dm)), scale(vp, 2.0));
      return sumExample(sub(add(sub(lp, lq), ratio), fill(0.5, ratio)));
    }
    auto bq = dyn_cast_or_null<BernoulliOp>(dq), bp = dyn_cast_or_null<BernoulliOp>(dp);
    if (bq && bp) {
      // p_q (log s(lq) - log s(lp)) + (1 - p_q) (log s(-lq) - log s(-lp))
      Value lq = bq.getLogits(), lp = bp.getLogits();
      Value pq = b.create<SigmoidOp>(loc, lq);
      Value t1 = mul(pq, sub(logSigmoid(lq), logSigmoid(lp)));
      Value t2 = mul(sub(fill(1.0, pq), pq),
                     sub(logSigmoid(neg(lq)), logSigmoid(neg(lp))));
      return sumExample(add(t1, t2));
    }
    auto cq = dyn_cast_or_null<CategoricalOp>(dq), cp = dyn_cast_or_null<CategoricalOp>(dp);
    if (cq && cp) {
      Value lq = logSoftmaxLast(cq.getLogits()), lp = logSoftmaxLast(cp.getLogits());
      return sumExample(mul(exp(lq), sub(lq, lp)));
    }
    return {};
  }
};

struct ExpandObjectives
    : public mlir::gm::impl::GMExpandObjectivesPassBase<ExpandObjectives> {
  /// The most draws a training objective's gm.iwae is unrolled into: each
  /// is a copy of the model, so k = 200 took gmc minutes (found by
  /// gm-fuzz-gm). The IWAE paper trains with k <= 50.
  static constexpr uint64_t kMaxTrainingDraws = 64;

  void runOnOperation() override {
    WalkResult r = getOperation().walk([&](FuncOp fn) {
      return succeeded(expand(fn)) ? WalkResult::advance() : WalkResult::interrupt();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }

  LogicalResult expand(FuncOp fn) {
    // A training loss cannot differentiate the loop gm.iwae lowers to:
    // there the bound is unrolled into its k draws first.
    if (fn.getRole() == FuncRole::loss) {
      SmallVector<IwaeOp> bounds;
      fn.walk([&](IwaeOp iw) { bounds.push_back(iw); });
      for (IwaeOp iw : bounds)
        if (iw.getK() > kMaxTrainingDraws)
          return iw.emitError() << "a training objective's iwae is compiled as one copy of "
                                   "the model per draw, so k = "
                                << iw.getK() << " is over the limit of " << kMaxTrainingDraws
                                << " (an objective only evaluated may take any k)";
      for (IwaeOp iw : bounds)
        unrollIwae(iw);
    }
    SmallVector<Operation *> ops;
    fn.walk([&](Operation *op) {
      if (isa<SampleOp, LogProbOp, KLOp, MutualInfoOp, AdversarialOp, ElboOp>(op))
        ops.push_back(op);
    });
    // Samples first, so a Monte Carlo KL reads the rewritten sample.
    std::stable_partition(ops.begin(), ops.end(),
                          [](Operation *op) { return isa<SampleOp>(op); });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Expander e(b, op->getLoc());
      Value repl;
      if (auto s = dyn_cast<SampleOp>(op)) {
        if (s.getEstimator() != Estimator::reparam)
          continue;
        repl = reparameterise(e, s);
      } else if (auto lp = dyn_cast<LogProbOp>(op)) {
        repl = e.logProb(lp.getDist(), lp.getValue());
      } else if (auto kl = dyn_cast<KLOp>(op)) {
        if (kl.getMethod() == KLMethod::analytic) {
          repl = e.analyticKL(kl.getQ(), kl.getP());
        } else {
          Value lq = e.logProb(kl.getQ(), kl.getSample());
          Value lp = lq ? e.logProb(kl.getP(), kl.getSample()) : Value();
          repl = lp ? e.sub(lq, lp) : Value();
        }
      } else if (auto mi = dyn_cast<MutualInfoOp>(op)) {
        Value lq = e.logProb(mi.getPosterior(), mi.getCode());
        Value lp = lq ? e.logProb(mi.getPrior(), mi.getCode()) : Value();
        repl = lp ? e.sub(lq, lp) : Value();
      } else if (auto adv = dyn_cast<AdversarialOp>(op)) {
        // mean log D(real) + mean log(1 - D(fake)), D = sigmoid.
        repl = e.add(e.meanAll(e.logSigmoid(adv.getReal())),
                     e.meanAll(e.logSigmoid(e.neg(adv.getFake()))));
      } else if (auto elbo = dyn_cast<ElboOp>(op)) {
        Value kl = elbo.getKl();
        repl = e.sub(elbo.getLoglik(),
                     e.scale(kl, elbo.getBeta().convertToDouble()));
      }
      if (!repl)
        continue; // no expansion: left for autodiff to report
      op->getResult(0).replaceAllUsesWith(repl);
      op->erase();
    }
    // An importance-weighted bound's region yields log p(x | z); make it
    // yield the whole log-weight log p(x | z) + log p(z) - log q(z | x), so
    // code generation only has to draw z and reduce (`log_weight` marks it).
    fn.walk([&](IwaeOp iw) {
      if (iw.getLogWeight())
        return;
      auto yield = cast<YieldOp>(iw.getBody().front().getTerminator());
      Value z = iw.getBody().front().getArgument(0);
      OpBuilder b(yield);
      Expander e(b, iw.getLoc());
      Value lp = e.logProb(iw.getP(), z);
      Value lq = lp ? e.logProb(iw.getQ(), z) : Value();
      if (!lq)
        return; // no expansion
      yield->setOperand(0, e.sub(e.add(yield->getOperand(0), lp), lq));
      iw.setLogWeight(true);
    });
    // Distributions whose every use was rewritten are dead now (top-level
    // ops only: erasing a gm.iwae erases its region with it).
    eraseDeadOps(fn.getBody().front());
    return success();
  }

  /// log (1/k) sum_j w_j with the k draws written out: z_j a reparameterised
  /// sample of q (stream s + 65536 j, so draws differ and never meet the
  /// function's other streams), w_j the region's log p(x | z_j) + log p(z_j)
  /// - log q(z_j) (gm.log_prob, expanded next), and the log-sum-exp folded
  /// pairwise, lse(a, b) = (a + b + |a - b|) / 2 + softplus(-|a - b|),
  /// stable and differentiable everywhere (at a = b its gradient is 1/2
  /// each, the softmax's). Gradients are pathwise, through z_j, plus q's
  /// own in log q(z_j): the IWAE paper's estimator.
  void unrollIwae(IwaeOp iw) {
    OpBuilder b(iw);
    Expander e(b, iw.getLoc());
    auto qt = cast<DistType>(iw.getQ().getType());
    Block &body = iw.getBody().front();
    Value lse;
    for (int64_t j = 0; j < (int64_t)iw.getK(); ++j) {
      Value z = b.create<SampleOp>(
          iw.getLoc(), qt.getSampleType(), iw.getQ(), iw.getKey(),
          b.getI64IntegerAttr(iw.getStream() + 65536 * j),
          EstimatorAttr::get(b.getContext(), isReparameterizable(qt.getKind())
                                                 ? Estimator::reparam
                                                 : Estimator::score_function));
      IRMapping map;
      map.map(body.getArgument(0), z);
      for (Operation &op : body.without_terminator())
        b.clone(op, map);
      Value ll = map.lookupOrDefault(cast<YieldOp>(body.getTerminator()).getValues()[0]);
      auto perExample = iw.getType();
      Value w = ll;
      if (!iw.getLogWeight()) {
        Value lp = b.create<LogProbOp>(iw.getLoc(), perExample, iw.getP(), z);
        Value lq = b.create<LogProbOp>(iw.getLoc(), perExample, iw.getQ(), z);
        w = e.sub(e.add(ll, lp), lq);
      }
      if (!lse) {
        lse = w;
        continue;
      }
      Value gap = b.create<AbsOp>(iw.getLoc(), e.sub(lse, w));
      Value top = e.scale(e.add(e.add(lse, w), gap), 0.5);
      lse = e.add(top, b.create<SoftplusOp>(iw.getLoc(), e.neg(gap)));
    }
    Value bound = e.sub(lse, e.fill(std::log((double)iw.getK()), lse));
    iw.getResult().replaceAllUsesWith(bound);
    iw.erase();
  }

  /// z = mu + sigma * eps, or low + (high - low) * u, with the noise drawn
  /// at the same key and stream: the sample's value does not change.
  Value reparameterise(Expander &e, SampleOp s) {
    Operation *def = s.getDist().getDefiningOp();
    auto noise = [&](DistKind kind, Value like) {
      auto type = cast<RankedTensorType>(like.getType());
      Value zero = e.fill(0.0, like), one = e.fill(1.0, like);
      Value dist = kind == DistKind::normal
                       ? e.b.create<NormalOp>(e.loc, DistType::get(e.b.getContext(), kind, type),
                                              zero, one, NormalParam::scale)
                             .getResult()
                       : e.b.create<UniformOp>(e.loc, DistType::get(e.b.getContext(), kind, type),
                                               zero, one)
                             .getResult();
      return e.b.create<SampleOp>(e.loc, type, dist, s.getKey(), s.getStreamAttr(),
                                  EstimatorAttr::get(e.b.getContext(), Estimator::none))
          .getResult();
    };
    if (auto n = dyn_cast_or_null<NormalOp>(def)) {
      Value sigma = n.getParam() == NormalParam::logvar
                        ? e.exp(e.scale(n.getSpread(), 0.5))
                        : n.getSpread();
      return e.add(n.getLoc(), e.mul(sigma, noise(DistKind::normal, n.getLoc())));
    }
    if (auto u = dyn_cast_or_null<UniformOp>(def))
      return e.add(u.getLow(), e.mul(e.sub(u.getHigh(), u.getLow()),
                                     noise(DistKind::uniform, u.getLow())));
    return {};
  }
};

} // namespace
