//===- Builtins.cpp - builtin functions -------------------------------------===//
//
// The builtin functions that create no parameters: activations, shapes,
// reductions, losses, and the objective builtins (gan, mutual_info, ...).
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/Impl.h"

#include <map>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;

Val MLIRGenImpl::genPure(StringRef name, const Expr &e, FnCtx &fn,
                         bool &handled) {
  static const std::map<std::string, Signature> sigs = {
      {"relu", {{"x"}, 1}}, {"sigmoid", {{"x"}, 1}}, {"tanh", {{"x"}, 1}},
      {"exp", {{"x"}, 1}}, {"log", {{"x"}, 1}}, {"softplus", {{"x"}, 1}},
      {"log_sigmoid", {{"x"}, 1}}, {"abs", {{"x"}, 1}}, {"square", {{"x"}, 1}},
      {"sqrt", {{"x"}, 1}}, {"stop_gradient", {{"x"}, 1}},
      {"leaky_relu", {{"x", "alpha"}, 1}},
      {"softmax", {{"x", "axis"}, 1}}, {"log_softmax", {{"x", "axis"}, 1}},
      {"reshape", {{"x", "shape"}, 2}}, {"flatten", {{"x"}, 1}},
      {"transpose", {{"x", "perm"}, 2}},
      {"slice", {{"x", "axis", "start", "end"}, 4}},
      {"shift", {{"x", "amount", "axis"}, 1}},
      {"sum", {{"x", "axis"}, 1}}, {"mean", {{"x", "axis"}, 1}},
      {"upsample", {{"x", "factor"}, 1}}, {"avg_pool", {{"x", "factor"}, 1}},
      {"fade", {{"low", "high"}, 2}},
      {"mse", {{"prediction", "target"}, 2}},
      {"l1", {{"prediction", "target"}, 2}},
      {"bce_logits", {{"logits", "target"}, 2}},
      {"xent", {{"logits", "target"}, 2}},
  };
  if (name == "concat") {
    handled = true;
    SmallVector<Value> inputs;
    std::optional<int64_t> axis = 0;
    for (const ::gm::Arg &a : e.args) {
      if (!a.key.text.empty()) {
        if (a.key.text != "axis")
          return fail(a.key.loc, "unknown argument '" + a.key.text +
                                     "' for concat; expected axis");
        Val v = gen(*a.value, fn);
        axis = v ? asInt(v, a.value->loc, "'axis' of concat", 0) : std::nullopt;
        if (!axis) return Val();
        continue;
      }
      Val v = gen(*a.value, fn);
      if (!v) return v;
      if (v.k == Val::K::Multi) {
        inputs.append(v.values.begin(), v.values.end());
        continue;
      }
      Value t = asTensor(v, a.value->loc, "an input of concat");
      if (!t) return Val();
      inputs.push_back(t);
    }
    if (inputs.size() < 2)
      return fail(e.loc, "concat needs at least two inputs");
    auto first = cast<RankedTensorType>(inputs[0].getType());
    std::vector<int64_t> shape = perExample(first);
    if (!isBatched(first) || *axis >= (int64_t)shape.size())
      return fail(e.loc, "concat axis " + std::to_string(*axis) +
                             " is out of range for " + describeShape(first));
    for (Value v : ArrayRef<Value>(inputs).drop_front()) {
      auto t = cast<RankedTensorType>(v.getType());
      std::vector<int64_t> s = perExample(t);
      bool ok = isBatched(t) && s.size() == shape.size() &&
                t.getElementType() == first.getElementType();
      for (size_t i = 0; ok && i < s.size(); ++i)
        ok = i == (size_t)*axis || s[i] == shape[i];
      if (!ok)
        return fail(e.loc, "cannot concatenate " + describeShape(first) + " and " +
                               describeShape(t) + " along axis " +
                               std::to_string(*axis));
      shape[*axis] += s[*axis];
    }
    return Val::tensor(builder.create<ConcatOp>(
        loc(e.loc), batchedType(shape), inputs,
        builder.getI64IntegerAttr(*axis + 1)));
  }
  auto it = sigs.find(name.str());
  if (it == sigs.end())
    return Val();
  handled = true;
  std::vector<const Expr *> slots;
  if (!bindArgs(e, it->second, slots))
    return Val();
  Location at = loc(e.loc);

  auto tensorArg = [&](size_t i) -> Value {
    Val v = gen(*slots[i], fn);
    if (!v) return {};
    Value t = asTensor(v, slots[i]->loc,
                       "'" + std::string(it->second.names[i]) + "' of " +
                           name.str());
    if (t && !cast<RankedTensorType>(t.getType()).getElementType().isF32()) {
      emitError(loc(slots[i]->loc)) << name << " expects f32 values, got "
                                       "token ids";
      return {};
    }
    return t;
  };
  auto intSlot = [&](size_t i, int64_t dflt, int64_t min) -> std::optional<int64_t> {
    if (!slots[i])
      return dflt;
    Val v = gen(*slots[i], fn);
    if (!v) return std::nullopt;
    return asInt(v, slots[i]->loc,
                 "'" + std::string(it->second.names[i]) + "' of " + name.str(),
                 min);
  };
  // Per-example axis (batch excluded), negative from the end -> IR axis.
  auto axisSlot = [&](size_t i, RankedTensorType t,
                      int64_t dflt) -> std::optional<int64_t> {
    int64_t rank = (int64_t)perExample(t).size();
    int64_t axis = dflt;
    if (slots[i]) {
      Val v = gen(*slots[i], fn);
      auto n = v ? asNumber(v, slots[i]->loc, "'axis' of " + name.str())
                 : std::nullopt;
      if (!n) return std::nullopt;
      axis = (int64_t)*n;
    }
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank) {
      emitError(loc(slots[i] ? slots[i]->loc : e.loc))
          << "axis " << axis << " is out of range for " << describeShape(t)
          << " (axes count from 0 after the batch)";
      return std::nullopt;
    }
    return axis + (isBatched(t) ? 1 : 0);
  };

  // Losses: per-example sums.
  if (name == "mse" || name == "l1" || name == "bce_logits" || name == "xent") {
    Value p = tensorArg(0);
    if (!p) return Val();
    Value t = tensorArg(1);
    if (!t) return Val();
    if (p.getType() != t.getType() || !isBatched(p.getType()))
      return fail(e.loc, name.str() + " compares values of one shape, got " +
                             describeShape(p.getType()) + " and " +
                             describeShape(t.getType()));
    LossKind kind = name == "mse"   ? LossKind::mse
                    : name == "l1"  ? LossKind::l1
                    : name == "xent" ? LossKind::softmax_xent
                                     : LossKind::bce_logits;
    return Val::tensor(builder.create<ReconLossOp>(at, batchedType({}), kind, p, t));
  }
  if (name == "fade") {
    if (!schedule)
      return fail(e.loc, "fade(...) needs a progressive schedule; declare one "
                         "with 'progressive NAME { resolutions = [...] }'");
    Value lo = tensorArg(0);
    if (!lo) return Val();
    Value hi = tensorArg(1);
    if (!hi) return Val();
    if (lo.getType() != hi.getType())
      return fail(e.loc, "fade blends values of one shape, got " +
                             describeShape(lo.getType()) + " and " +
                             describeShape(hi.getType()));
    Value alpha = builder.create<ScheduleAlphaOp>(
        at, RankedTensorType::get({}, f32()), schedule.getSymName());
    return Val::tensor(builder.create<FadeOp>(at, lo, hi, alpha));
  }

  Value x = tensorArg(0);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  std::vector<int64_t> per = perExample(xt);

  if (name == "relu") return Val::tensor(builder.create<ReluOp>(at, x));
  if (name == "sigmoid") return Val::tensor(builder.create<SigmoidOp>(at, x));
  if (name == "tanh") return Val::tensor(builder.create<TanhOp>(at, x));
  if (name == "exp") return Val::tensor(builder.create<ExpOp>(at, x));
  if (name == "log") return Val::tensor(builder.create<LogOp>(at, x));
  if (name == "softplus") return Val::tensor(builder.create<SoftplusOp>(at, x));
  if (name == "log_sigmoid") return Val::tensor(builder.create<LogSigmoidOp>(at, x));
  if (name == "abs") return Val::tensor(builder.create<AbsOp>(at, x));
  if (name == "square") return Val::tensor(builder.create<SquareOp>(at, x));
  if (name == "sqrt") return Val::tensor(builder.create<SqrtOp>(at, x));
  if (name == "stop_gradient") return Val::tensor(builder.create<StopGradientOp>(at, x));
  if (name == "leaky_relu") {
    double alpha = 0.2;
    if (slots[1]) {
      Val v = gen(*slots[1], fn);
      auto n = v ? asNumber(v, slots[1]->loc, "'alpha' of leaky_relu") : std::nullopt;
      if (!n) return Val();
      alpha = *n;
    }
    return Val::tensor(builder.create<LeakyReluOp>(at, x, builder.getF64FloatAttr(alpha)));
  }
  if (name == "softmax" || name == "log_softmax") {
    if (per.empty())
      return fail(e.loc, name.str() + " needs at least one axis besides the batch");
    auto axis = axisSlot(1, xt, -1);
    if (!axis) return Val();
    auto attr = builder.getI64IntegerAttr(*axis);
    if (name == "softmax")
      return Val::tensor(builder.create<SoftmaxOp>(at, x, attr));
    return Val::tensor(builder.create<LogSoftmaxOp>(at, x, attr));
  }
  if (!isBatched(xt))
    return fail(slots[0]->loc, name.str() + " expects a value with a batch "
                                            "dimension, got " + describeShape(xt));
  if (name == "reshape" || name == "flatten") {
    std::vector<int64_t> shape;
    if (name == "flatten") {
      int64_t n = 1;
      for (int64_t d : per) n *= d;
      shape = {n};
    } else {
      Val v = gen(*slots[1], fn);
      if (!v) return v;
      if (v.k != Val::K::List)
        return fail(slots[1]->loc, "the shape of reshape is a list, as in [1, 28, 28]");
      int64_t n = 1, m = 1;
      for (double d : v.list) {
        if (d < 1 || d != std::floor(d) || d > (1 << 30))
          return fail(slots[1]->loc, "reshape dimensions must be positive integers");
        shape.push_back((int64_t)d);
        m *= (int64_t)d;
        if (m > (1 << 30))
          return fail(slots[1]->loc, "reshape target is too large");
      }
      for (int64_t d : per) n *= d;
      if (n != m)
        return fail(slots[1]->loc, "cannot reshape " + describeShape(xt) + " (" +
                                       std::to_string(n) + " elements) to " +
                                       describeShape(batchedType(shape)) + " (" +
                                       std::to_string(m) + ")");
    }
    return Val::tensor(builder.create<ReshapeOp>(at, batchedType(shape), x));
  }
  if (name == "transpose") {
    Val v = gen(*slots[1], fn);
    if (!v) return v;
    if (v.k != Val::K::List || v.list.size() != per.size())
      return fail(slots[1]->loc, "transpose needs a permutation of the " +
                                     std::to_string(per.size()) +
                                     " per-example axes, as in [1, 0]");
    SmallVector<int64_t> perm{0};
    std::vector<int64_t> shape;
    std::vector<bool> seen(per.size());
    for (double d : v.list) {
      if (d < 0 || d >= per.size() || d != std::floor(d) || seen[(size_t)d])
        return fail(slots[1]->loc, "transpose needs a permutation of the " +
                                       std::to_string(per.size()) +
                                       " per-example axes");
      seen[(size_t)d] = true;
      perm.push_back((int64_t)d + 1);
      shape.push_back(per[(size_t)d]);
    }
    return Val::tensor(builder.create<TransposeOp>(
        at, batchedType(shape), x, builder.getDenseI64ArrayAttr(perm)));
  }
  if (name == "slice") {
    auto axis = axisSlot(1, xt, 0);
    auto start = intSlot(2, 0, 0);
    auto end = intSlot(3, 0, 1);
    if (!axis || !start || !end) return Val();
    int64_t size = xt.getDimSize(*axis);
    if (*start >= *end || *end > size)
      return fail(e.loc, "slice [" + std::to_string(*start) + ", " +
                             std::to_string(*end) + ") is out of bounds for an "
                             "axis of size " + std::to_string(size));
    SmallVector<int64_t> shape(xt.getShape());
    shape[*axis] = *end - *start;
    return Val::tensor(builder.create<SliceOp>(
        at, RankedTensorType::get(shape, f32()), x,
        builder.getI64IntegerAttr(*axis), builder.getI64IntegerAttr(*start),
        builder.getI64IntegerAttr(*end - *start)));
  }
  if (name == "shift") {
    if (per.empty())
      return fail(e.loc, "shift needs at least one axis besides the batch");
    auto amount = intSlot(1, 1, 0);
    auto axis = axisSlot(2, xt, -1);
    if (!amount || !axis) return Val();
    return Val::tensor(builder.create<ShiftOp>(
        at, x, builder.getI64IntegerAttr(*axis), builder.getI64IntegerAttr(*amount)));
  }
  if (name == "sum" || name == "mean") {
    SmallVector<int64_t> axes;
    if (slots[1]) {
      auto axis = axisSlot(1, xt, 0);
      if (!axis) return Val();
      axes.push_back(*axis);
    } else {
      for (size_t i = 0; i < per.size(); ++i)
        axes.push_back(i + 1);
      if (axes.empty())
        return Val::tensor(x); // already one number per example
    }
    std::vector<int64_t> shape;
    for (size_t i = 0; i < per.size(); ++i)
      if (!llvm::is_contained(axes, (int64_t)i + 1))
        shape.push_back(per[i]);
    auto type = batchedType(shape);
    auto attr = builder.getDenseI64ArrayAttr(axes);
    if (name == "sum")
      return Val::tensor(builder.create<SumOp>(at, type, x, attr));
    return Val::tensor(builder.create<MeanOp>(at, type, x, attr));
  }
  // upsample / avg_pool
  if (per.size() != 3)
    return fail(slots[0]->loc, name.str() + " expects (batch, channels, height, "
                                            "width) images, got " + describeShape(xt));
  auto factor = intSlot(1, 2, 1);
  if (!factor) return Val();
  if (name == "upsample")
    return Val::tensor(builder.create<UpsampleOp>(
        at, batchedType({per[0], per[1] * *factor, per[2] * *factor}), x,
        builder.getI64IntegerAttr(*factor)));
  if (per[1] % *factor || per[2] % *factor)
    return fail(e.loc, "avg_pool by " + std::to_string(*factor) +
                           " needs height and width divisible by it, got " +
                           describeShape(xt));
  return Val::tensor(builder.create<AvgPoolOp>(
      at, batchedType({per[0], per[1] / *factor, per[2] / *factor}), x,
      builder.getI64IntegerAttr(*factor)));
}

//===----------------------------------------------------------------------===//
// Objective builtins: gan, mutual_info, iwae
//===----------------------------------------------------------------------===//

Val MLIRGenImpl::genObjectiveBuiltin(StringRef name, const Expr &e, FnCtx &fn,
                                     bool &handled) {
  static const std::map<std::string, Signature> sigs = {
      {"gan", {{"real", "fake"}, 2}},
      {"mutual_info", {{"posterior", "code"}, 2}},
      {"iwae", {{"likelihood", "posterior", "prior", "k"}, 3}},
  };
  auto it = sigs.find(name.str());
  if (it == sigs.end())
    return Val();
  handled = true;
  if (fn.isNet)
    return fail(e.loc, name.str() + "(...) is an objective term and cannot be "
                                    "used inside net '" + fn.netName + "'");
  std::vector<const Expr *> slots;
  if (!bindArgs(e, it->second, slots))
    return Val();
  Location at = loc(e.loc);

  if (name == "gan") {
    SmallVector<Value> logits;
    for (int i = 0; i < 2; ++i) {
      Val v = gen(*slots[i], fn);
      if (!v) return v;
      Value t = asTensor(v, slots[i]->loc, "an argument of gan");
      if (!t) return Val();
      auto type = cast<RankedTensorType>(t.getType());
      std::vector<int64_t> per = perExample(type);
      if (!isBatched(type) || per.size() > 1 || (per.size() == 1 && per[0] != 1))
        return fail(slots[i]->loc, "gan(real, fake) takes one discriminator "
                                   "logit per example, got " + describeShape(type));
      logits.push_back(t);
    }
    return Val::tensor(builder.create<AdversarialOp>(
        at, RankedTensorType::get({}, f32()), logits[0], logits[1]));
  }

  auto distArg = [&](size_t i) -> Val {
    const Expr &a = *slots[i];
    if (a.kind != Kind::Dist &&
        !(a.kind == Kind::Call && distNames.contains(a.name)))
      return fail(a.loc, "'" + std::string(it->second.names[i]) + "' of " +
                             name.str() + " must be a declared distribution, "
                                          "as in q(z | x)");
    return gen(a, fn);
  };

  if (name == "mutual_info") {
    Val q = distArg(0);
    if (!q) return q;
    Val code = gen(*slots[1], fn);
    if (!code) return code;
    Value c = asTensor(code, slots[1]->loc, "the code of mutual_info");
    if (!c) return Val();
    const ::gm::DistDecl *prior = findRole(::gm::DistDecl::Role::Prior, q.decl->var.text);
    if (!prior)
      return fail(slots[0]->loc, "mutual_info needs a prior for '" +
                                     q.decl->var.text + "'");
    Val p = genDistDecl(*prior, fn, {}, true);
    if (!p) return p;
    auto qt = cast<DistType>(q.value.getType()).getSampleType();
    auto pt = cast<DistType>(p.value.getType()).getSampleType();
    if (qt != c.getType() || pt != c.getType())
      return fail(e.loc, "mutual_info needs the posterior, code and prior over "
                         "one shape, got " + describeShape(qt) + ", " +
                         describeShape(c.getType()) + " and " + describeShape(pt));
    return Val::tensor(builder.create<MutualInfoOp>(at, batchedType({}), q.value,
                                                    c, p.value));
  }

  // iwae(p(x | z), q(z | x), p(z), k = K)
  const Expr &lik = *slots[0];
  if (lik.kind != Kind::Dist && !(lik.kind == Kind::Call && distNames.contains(lik.name)))
    return fail(lik.loc, "'likelihood' of iwae must be a declared likelihood, "
                         "as in p(x | z)");
  Val q = distArg(1);
  if (!q) return q;
  Val p = distArg(2);
  if (!p) return p;
  auto k = [&]() -> std::optional<int64_t> {
    if (!slots[3]) return 1;
    Val v = gen(*slots[3], fn);
    return v ? asInt(v, slots[3]->loc, "'k' of iwae", 1) : std::nullopt;
  }();
  if (!k) return Val();
  auto qt = cast<DistType>(q.value.getType()), pt = cast<DistType>(p.value.getType());
  if (q.decl->var.text != p.decl->var.text || qt.getSampleType() != pt.getSampleType())
    return fail(e.loc, "iwae needs a posterior and a prior over one latent");
  auto op = builder.create<IwaeOp>(at, batchedType({}), q.value, p.value, fn.key,
                                   /*draws=*/Value(), builder.getI64IntegerAttr(fn.nextStream++),
                                   builder.getI64IntegerAttr(*k), /*log_weight=*/UnitAttr());
  Block *body = new Block();
  op.getBody().push_back(body);
  Value z = body->addArgument(qt.getSampleType(), at);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(body);
  fn.scopes.emplace_back();
  fn.scopes.back()[q.decl->var.text] = Val::tensor(z);
  ++fn.regionDepth;
  auto leave = llvm::make_scope_exit([&] { --fn.regionDepth; });
  Expr logp(Kind::LogProb, lik.loc);
  Expr ref(Kind::Dist, lik.loc);
  ref.name = lik.name;
  ref.var = lik.kind == Kind::Dist
                ? lik.var
                : ::gm::Name{lik.args.empty() || lik.args[0].value->kind != Kind::Ref
                               ? ""
                               : lik.args[0].value->name,
                           lik.loc};
  Val ll;
  {
    // The likelihood's own conditions resolve in the scope that binds z.
    const ::gm::DistDecl *decl = findDist(ref.name, ref.var.text);
    if (!decl) {
      fn.scopes.pop_back();
      return fail(lik.loc, "'likelihood' of iwae must be a declared likelihood, "
                           "as in p(x | z)");
    }
    Val d = genDistDecl(*decl, fn, {}, true);
    if (d) {
      Val value = genRef(decl->var.text, lik.loc, fn);
      Value v = value ? asTensor(value, lik.loc, "the observed value") : Value();
      if (v && v.getType() == cast<DistType>(d.value.getType()).getSampleType())
        ll = Val::tensor(builder.create<LogProbOp>(at, batchedType({}), d.value, v));
      else if (v)
        emitError(loc(lik.loc)) << "iwae likelihood is over "
                                << describeShape(cast<DistType>(d.value.getType()).getSampleType())
                                << " but its value has shape " << describeShape(v.getType());
    }
  }
  fn.scopes.pop_back();
  if (!ll)
    return Val();
  builder.create<YieldOp>(at, ll.value);
  return Val::tensor(op.getResult());
}

