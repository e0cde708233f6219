//===- Distributions.cpp - distributions ------------------------------------===//
//
// Distribution declarations and constructors, samples (one per latent and
// objective), log_prob and KL.
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/Impl.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;

//===----------------------------------------------------------------------===//
// Distributions
//===----------------------------------------------------------------------===//

const ::gm::DistDecl *MLIRGenImpl::findDist(StringRef name, StringRef var) const {
  for (const ::gm::DistDecl &d : ast.dists)
    if (d.name.text == name && d.var.text == var)
      return &d;
  return nullptr;
}

const ::gm::DistDecl *MLIRGenImpl::findRole(::gm::DistDecl::Role role,
                                          StringRef var) const {
  for (const ::gm::DistDecl &d : ast.dists)
    if (d.role == role && d.var.text == var)
      return &d;
  return nullptr;
}

Val MLIRGenImpl::genDistRef(const Expr &e, FnCtx &fn) {
  if (fn.isNet)
    return fail(e.loc, "distribution '" + e.name + "(" + e.var.text +
                           ")' cannot be used inside net '" + fn.netName + "'");
  const ::gm::DistDecl *decl = findDist(e.name, e.var.text);
  if (!decl) {
    std::string vars;
    for (const ::gm::DistDecl &d : ast.dists)
      if (d.name.text == e.name)
        vars += (vars.empty() ? "" : ", ") + d.var.text;
    if (vars.empty())
      return fail(e.loc, "unknown distribution '" + e.name + "'");
    return fail(e.var.loc, "no distribution '" + e.name + "' over '" +
                               e.var.text + "'; '" + e.name +
                               "' is declared over " + vars);
  }
  // q(z | x) written with the declaration's own names conditions on the
  // context's values, like q(z): no bindings, so it can be cached.
  bool dflt = true;
  for (auto [i, cond] : llvm::enumerate(e.operands))
    if (i >= decl->conds.size() || cond->kind != Kind::Ref ||
        cond->name != decl->conds[i].text)
      dflt = false;
  llvm::StringMap<Val> bindings;
  if (!e.operands.empty() && (!dflt || e.operands.size() != decl->conds.size())) {
    if (e.operands.size() != decl->conds.size())
      return fail(e.loc, "'" + e.name + "(" + e.var.text + " | ...)' is "
                             "declared with " +
                             std::to_string(decl->conds.size()) +
                             " condition(s), got " +
                             std::to_string(e.operands.size()));
    for (auto [i, cond] : llvm::enumerate(e.operands)) {
      Val v = gen(*cond, fn);
      if (!v) return v;
      bindings[decl->conds[i].text] = v;
    }
  }
  return genDistDecl(*decl, fn, std::move(bindings), dflt);
}

Val MLIRGenImpl::genDistDecl(const ::gm::DistDecl &decl, FnCtx &fn,
                             llvm::StringMap<Val> bindings, bool defaultConds) {
  RankedTensorType target;
  if (decl.dims) {
    target = batchedType(*decl.dims);
  } else if (auto it = dataIndex.find(decl.var.text); it != dataIndex.end()) {
    target = cast<RankedTensorType>(dataOps[it->second].getType());
    if (!target.getElementType().isF32())
      return fail(decl.loc, "distributions over token data are not supported");
  }
  // A distribution evaluated in the function's own context is evaluated
  // once: q(z | x) in the sample and in the KL must be the same network call.
  // Inside a gm.iwae region the latent is rebound, so nothing is cached there.
  bool cacheable = bindings.empty() && defaultConds && fn.regionDepth == 0;
  if (cacheable)
    if (Value cached = fn.dists.lookup(&decl))
      return Val::dist(cached, &decl, true);
  fn.scopes.push_back(std::move(bindings));
  Val d = genDistCtor(*decl.dist, target, fn);
  fn.scopes.pop_back();
  if (!d)
    return d;
  d.decl = &decl;
  d.defaultConds = defaultConds;
  if (cacheable)
    fn.dists[&decl] = d.value;
  return d;
}

Val MLIRGenImpl::genDistCtor(const Expr &call, RankedTensorType target,
                             FnCtx &fn) {
  const Builtin *ctor = call.kind == Kind::Call ? findBuiltin(call.name) : nullptr;
  if (!ctor || ctor->kind != BuiltinKind::Distribution)
    return fail(call.loc, "expected a distribution: normal, normal_logvar, "
                          "bernoulli_logits, categorical_logits, uniform, "
                          "mixture_normal or discretized_logistic");
  const Signature &sig = ctor->sig;
  // One argument that is a net returning every parameter spreads:
  // normal_logvar(encoder(x)) with encoder returning (mu, logvar).
  SmallVector<Value> ps;
  if (call.args.size() == 1 && sig.required > 1 && call.args[0].key.text.empty()) {
    Val v = gen(*call.args[0].value, fn);
    if (!v) return v;
    if (v.k != Val::K::Multi || v.values.size() != sig.required)
      return fail(call.loc, call.name + " takes " + std::to_string(sig.required) +
                                " parameters; pass them, or one net call that "
                                "returns " + std::to_string(sig.required) +
                                " values");
    ps.append(v.values.begin(), v.values.end());
  } else {
    std::vector<const Expr *> slots;
    if (!bindArgs(call, sig, slots))
      return Val();
    for (auto [i, s] : llvm::enumerate(slots)) {
      Val v = gen(*s, fn);
      if (!v) return v;
      Value t = asTensor(v, s->loc, "'" + sig.names[i].str() + "' of " +
                                        call.name);
      if (!t) return Val();
      ps.push_back(t);
    }
  }
  for (Value p : ps)
    if (!cast<RankedTensorType>(p.getType()).getElementType().isF32())
      return fail(call.loc, "distribution parameters must be f32");
  Location at = loc(call.loc);

  // The sample type: given, or that of the first batched parameter.
  bool mixture = call.name == "mixture_normal";
  RankedTensorType sampleType = target;
  if (!sampleType) {
    if (!isBatched(ps[0].getType()))
      return fail(call.loc, "cannot tell the shape of this distribution's "
                            "samples; add ': [dims]' after it");
    auto t = cast<RankedTensorType>(ps[0].getType());
    if (mixture) {
      auto means = cast<RankedTensorType>(ps[1].getType());
      if (!isBatched(means) || means.getRank() != 3)
        return fail(call.loc, "mixture_normal means are (batch, components, "
                              "dims); got " + describeShape(means));
      sampleType = batchedType({means.getDimSize(2)});
    } else {
      sampleType = t;
    }
  }
  // Bring every parameter to its full batched shape.
  SmallVector<RankedTensorType> want;
  if (mixture) {
    auto means = cast<RankedTensorType>(ps[1].getType());
    std::vector<int64_t> m = perExample(means);
    if (m.size() != 2 || m[1] != sampleType.getDimSize(1))
      return fail(call.loc, "mixture_normal means must be (components, " +
                                std::to_string(sampleType.getDimSize(1)) +
                                "), got " + describeShape(means));
    want = {batchedType({m[0]}), batchedType(m), batchedType(m)};
  } else {
    want.assign(ps.size(), sampleType);
  }
  for (auto [i, p] : llvm::enumerate(ps)) {
    auto pt = cast<RankedTensorType>(p.getType());
    auto merged = broadcastShape(pt, want[i]);
    if (!merged || *merged != want[i]) {
      std::string msg = "'" + sig.names[i].str() + "' of " + call.name +
                        " has shape " + describeShape(pt) + ", which does not fit ";
      if (target)
        msg += "the shape " + describeShape(want[i]) + " of what it is over";
      else
        msg += describeShape(want[i]);
      return fail(call.loc, msg);
    }
  }
  Value ref;
  for (Value q : ps)
    if (isBatched(q.getType()))
      ref = q;
  for (auto [i, p] : llvm::enumerate(ps)) {
    ps[i] = broadcastTo(p, want[i], ref, fn, call.loc);
    if (!ps[i]) return Val();
  }

  auto distType = [&](DistKind k) { return DistType::get(&ctx, k, sampleType); };
  Value d;
  if (call.name == "normal")
    d = builder.create<NormalOp>(at, distType(DistKind::normal), ps[0], ps[1],
                                 NormalParam::scale);
  else if (call.name == "normal_logvar")
    d = builder.create<NormalOp>(at, distType(DistKind::normal), ps[0], ps[1],
                                 NormalParam::logvar);
  else if (call.name == "bernoulli_logits")
    d = builder.create<BernoulliOp>(at, distType(DistKind::bernoulli), ps[0]);
  else if (call.name == "categorical_logits") {
    if (sampleType.getRank() < 2)
      return fail(call.loc, "categorical_logits needs a class axis, as in "
                            "': [10]'");
    d = builder.create<CategoricalOp>(at, distType(DistKind::categorical), ps[0]);
  } else if (call.name == "uniform")
    d = builder.create<UniformOp>(at, distType(DistKind::uniform), ps[0], ps[1]);
  else if (call.name == "discretized_logistic")
    // 8-bit values scaled to [0, 1], as "fashion-mnist:images" loads them.
    d = builder.create<DiscretizedLogisticOp>(at, distType(DistKind::discretized_logistic),
                                              ps[0], ps[1], builder.getI64IntegerAttr(256));
  else
    d = builder.create<MixtureNormalOp>(at, distType(DistKind::mixture_normal),
                                        ps[0], ps[1], ps[2]);
  return Val::dist(d, nullptr, false);
}

Value MLIRGenImpl::sample(Val dist, FnCtx &fn, ::gm::Loc l,
                          std::optional<int64_t> stream) {
  auto type = cast<DistType>(dist.value.getType());
  // Pathwise gradients where the family allows; a learned discrete
  // distribution gets a score-function estimator; priors are constants.
  Estimator est = Estimator::none;
  if (isReparameterizable(type.getKind()))
    est = Estimator::reparam;
  else if (dist.decl && dist.decl->role != ::gm::DistDecl::Role::Prior)
    est = Estimator::score_function;
  if (!stream)
    stream = fn.nextStream++;
  return builder.create<SampleOp>(loc(l), type.getSampleType(), dist.value,
                                  fn.key, builder.getI64IntegerAttr(*stream),
                                  EstimatorAttr::get(&ctx, est));
}

Val MLIRGenImpl::latentSample(const std::string &var, ::gm::Loc l, FnCtx &fn) {
  if (auto it = fn.latents.find(var); it != fn.latents.end()) {
    // A placeholder: var is being drawn, and its distribution reads var.
    if (!it->second)
      return fail(l, "latent '" + var + "' depends on itself: its posterior or prior is "
                                        "conditioned, through other latents, on '" + var +
                                        "', so it cannot be sampled ancestrally");
    return Val::tensor(it->second);
  }
  // The posterior when it is conditioned on observed data and latents only
  // (q(z | x) in a VAE; q(z2 | z1) in a hierarchy, z1 drawn first from its
  // own posterior: ancestral sampling through the posteriors), else the
  // prior (through its own conditions, p(z1 | z2) after z2): InfoGAN's
  // r(c | image) is a recognition network evaluated on demand, not where c
  // comes from.
  const ::gm::DistDecl *decl = findRole(::gm::DistDecl::Role::Posterior, var);
  if (decl && !llvm::all_of(decl->conds, [&](const ::gm::Name &c) {
        return dataIndex.count(c.text) > 0 || latentVars.contains(c.text);
      }))
    decl = nullptr;
  if (!decl)
    decl = findRole(::gm::DistDecl::Role::Prior, var);
  if (!decl)
    return fail(l, "latent '" + var + "' has no prior or posterior");
  fn.latents[var] = Value(); // the placeholder the check above finds
  // Sample at the function's top level, so the value dominates every use.
  Val d = genDistDecl(*decl, fn, {}, true);
  if (!d) {
    fn.latents.erase(var);
    return d;
  }
  // Each latent has its own stream, the same in every objective: called with
  // one key, the objectives of one training step see one value of z.
  Value s = sample(d, fn, l, latentStream.lookup(var));
  // A sample drawn inside a gm.iwae region does not dominate the rest of
  // the function: keep it only while generating that region.
  if (fn.regionDepth == 0)
    fn.latents[var] = s;
  else
    fn.latents.erase(var);
  return Val::tensor(s);
}

Val MLIRGenImpl::genLogProb(const Expr &e, FnCtx &fn) {
  if (fn.isNet)
    return fail(e.loc, "log-densities cannot be used inside net '" +
                           fn.netName + "'");
  const Expr &ref = *e.operands[0];
  Val d = genDistRef(ref, fn);
  if (!d) return d;
  Val value = genRef(d.decl->var.text, ref.var.loc, fn);
  if (!value) return value;
  Value v = asTensor(value, ref.var.loc, "'" + d.decl->var.text + "'");
  if (!v) return Val();
  auto sampleType = cast<DistType>(d.value.getType()).getSampleType();
  if (v.getType() != sampleType)
    return fail(ref.loc, "'" + ref.name + "(" + ref.var.text + ")' is over " +
                             describeShape(sampleType) + " but '" + ref.var.text +
                             "' has shape " + describeShape(v.getType()));
  return Val::tensor(builder.create<LogProbOp>(loc(e.loc), batchedType({}),
                                               d.value, v));
}

Val MLIRGenImpl::genKL(const Expr &e, FnCtx &fn) {
  if (fn.isNet)
    return fail(e.loc, "kl(...) cannot be used inside net '" + fn.netName + "'");
  Val q = genDistRef(*e.operands[0], fn);
  if (!q) return q;
  Val p = genDistRef(*e.operands[1], fn);
  if (!p) return p;
  auto qt = cast<DistType>(q.value.getType()), pt = cast<DistType>(p.value.getType());
  if (qt.getSampleType() != pt.getSampleType())
    return fail(e.loc, "kl between distributions over different shapes, " +
                           describeShape(qt.getSampleType()) + " and " +
                           describeShape(pt.getSampleType()));
  StringRef why = klIncompatibility(qt.getKind(), pt.getKind());
  if (!why.empty())
    return fail(e.loc, "KL(" + stringifyDistKind(qt.getKind()).str() + " || " +
                           stringifyDistKind(pt.getKind()).str() +
                           ") is undefined: " + why.str());
  Location at = loc(e.loc);
  if (hasAnalyticKL(qt.getKind(), pt.getKind()))
    return Val::tensor(builder.create<KLOp>(at, batchedType({}), q.value, p.value,
                                            Value(), KLMethod::analytic));
  // Monte Carlo: reuse this objective's sample of the latent when q is its
  // posterior, so the estimate matches the rest of the objective.
  Value z;
  const ::gm::DistDecl *post = findRole(::gm::DistDecl::Role::Posterior, q.decl->var.text);
  if (q.decl == post && q.defaultConds) {
    Val s = latentSample(q.decl->var.text, e.loc, fn);
    if (!s) return s;
    z = s.value;
  } else {
    z = sample(q, fn, e.loc);
  }
  return Val::tensor(builder.create<KLOp>(at, batchedType({}), q.value, p.value,
                                          z, KLMethod::monte_carlo));
}

