//===- Builtins.cpp - the builtin table -----------------------------------===//
//
// Every builtin of the language is one row of one table: its name, what may
// call it, its signature, and the function that builds it. The shape of a
// result comes from the op's own inferResultType where it has one, so an
// error at the .gm source says what the verifier would.
//
// Elementwise ops need no row: an op with the ElementwiseBuiltin trait is
// called by its mnemonic (GMOps.td), so adding an activation touches the
// dialect, its lowering and the evaluator, and not this file.
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/Impl.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;

namespace {

//===----------------------------------------------------------------------===//
// Builders, one per builtin (or per family of builtins)
//===----------------------------------------------------------------------===//

/// The input of a shape builtin: a batched f32 tensor.
Value batchedInput(BuiltinCall &c) {
  Value x = c.tensor(0);
  if (x && !isBatched(x.getType())) {
    c.fail(c.slots[0]->loc, c.name() + " expects a value with a batch dimension, got " +
                                describeShape(x.getType()));
    return {};
  }
  return x;
}

// concat(a, b, ..., axis = 0): a net's tuple result spreads into inputs.
Val buildConcat(BuiltinCall &c) {
  MLIRGenImpl &g = c.g;
  SmallVector<Value> inputs;
  std::optional<int64_t> axis = 0;
  for (const ::gm::Arg &a : c.e.args) {
    if (!a.key.text.empty()) {
      if (a.key.text != "axis")
        return c.fail(a.key.loc, "unknown argument '" + a.key.text + "' for concat; expected axis");
      Val v = g.gen(*a.value, c.fn);
      axis = v ? g.asInt(v, a.value->loc, "'axis' of concat", 0) : std::nullopt;
      if (!axis) return Val();
      continue;
    }
    Val v = g.gen(*a.value, c.fn);
    if (!v) return v;
    if (v.k == Val::K::Multi) {
      inputs.append(v.values.begin(), v.values.end());
      continue;
    }
    Value t = g.asTensor(v, a.value->loc, "an input of concat");
    if (!t) return Val();
    inputs.push_back(t);
  }
  if (inputs.size() < 2)
    return c.fail("concat needs at least two inputs");
  auto first = cast<RankedTensorType>(inputs[0].getType());
  if (!isBatched(first) || *axis >= (int64_t)perExample(first).size())
    return c.fail("concat axis " + std::to_string(*axis) + " is out of range for " +
                  describeShape(first));
  for (Value v : ArrayRef<Value>(inputs).drop_front()) {
    auto t = cast<RankedTensorType>(v.getType());
    std::vector<int64_t> s = perExample(t), shape = perExample(first);
    bool ok = isBatched(t) && s.size() == shape.size() &&
              t.getElementType() == first.getElementType();
    for (size_t i = 0; ok && i < s.size(); ++i)
      ok = i == (size_t)*axis || s[i] == shape[i];
    if (!ok)
      return c.fail("cannot concatenate " + describeShape(first) + " and " + describeShape(t) +
                    " along axis " + std::to_string(*axis));
  }
  auto type = ConcatOp::inferResultType([&] { return c.shapeError(); }, TypeRange(ValueRange(inputs)), *axis + 1);
  if (failed(type)) return Val();
  return c.make<ConcatOp>(*type, inputs, c.b().getI64IntegerAttr(*axis + 1));
}

// mse, l1, bce_logits, xent: one number per example.
Val buildLoss(BuiltinCall &c) {
  Value p = c.tensor(0);
  if (!p) return Val();
  Value t = c.tensor(1);
  if (!t) return Val();
  if (p.getType() != t.getType() || !isBatched(p.getType()))
    return c.fail(c.name() + " compares values of one shape, got " +
                  describeShape(p.getType()) + " and " + describeShape(t.getType()));
  StringRef n = c.name();
  LossKind kind = n == "mse"    ? LossKind::mse
                  : n == "l1"   ? LossKind::l1
                  : n == "xent" ? LossKind::softmax_xent
                                : LossKind::bce_logits;
  return c.make<ReconLossOp>(c.g.batchedType({}), kind, p, t);
}

// fade(low, high, to = R): the progressive schedule's blend while
// resolution R (by default the last) fades in.
Val buildFade(BuiltinCall &c) {
  if (!c.g.schedule)
    return c.fail("fade(...) needs a progressive schedule; declare one "
                  "with 'progressive NAME { resolutions = [...] }'");
  ArrayRef<int64_t> res = c.g.schedule.getResolutions();
  std::optional<int64_t> to = c.integer(2, res.back(), 1);
  if (!to) return Val();
  if (res.size() < 2 || !llvm::is_contained(res.drop_front(), *to)) {
    std::string later;
    for (int64_t r : res.drop_front())
      later += (later.empty() ? "" : ", ") + std::to_string(r);
    return c.fail(c.locOf(2), "fade(..., to = " + std::to_string(*to) +
                                  ") must name a resolution the schedule grows to" +
                                  (later.empty() ? " (it has only one)" : ": " + later));
  }
  Value lo = c.tensor(0);
  if (!lo) return Val();
  Value hi = c.tensor(1);
  if (!hi) return Val();
  if (lo.getType() != hi.getType())
    return c.fail("fade blends values of one shape, got " + describeShape(lo.getType()) +
                  " and " + describeShape(hi.getType()));
  Value alpha = c.b().create<ScheduleAlphaOp>(c.at, RankedTensorType::get({}, c.g.f32()),
                                              c.g.schedule.getSymName(), *to);
  return c.make<FadeOp>(lo, hi, alpha);
}

// softmax(x, axis = -1), log_softmax(x, axis = -1).
Val buildSoftmax(BuiltinCall &c) {
  Value x = c.tensor(0);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  if (perExample(xt).empty())
    return c.fail(c.name() + " needs at least one axis besides the batch");
  auto axis = c.axis(1, xt, -1);
  if (!axis) return Val();
  auto attr = c.b().getI64IntegerAttr(*axis);
  if (c.name() == "softmax")
    return c.make<SoftmaxOp>(x, attr);
  return c.make<LogSoftmaxOp>(x, attr);
}

// reshape(x, [dims]) and flatten(x): the batch is kept.
Val buildReshape(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t n = 1;
  for (int64_t d : perExample(xt)) n *= d;
  if (c.name() == "flatten")
    return c.make<ReshapeOp>(c.g.batchedType({n}), x);
  Val v = c.gen(1);
  if (!v) return v;
  if (v.k != Val::K::List)
    return c.fail(c.slots[1]->loc, "the shape of reshape is a list, as in [1, 28, 28]");
  std::vector<int64_t> shape;
  int64_t m = 1;
  for (double d : v.list) {
    if (d < 1 || d != std::floor(d) || d > (1 << 30))
      return c.fail(c.slots[1]->loc, "reshape dimensions must be positive integers");
    shape.push_back((int64_t)d);
    m *= (int64_t)d;
    if (m > (1 << 30))
      return c.fail(c.slots[1]->loc, "reshape target is too large");
  }
  if (n != m)
    return c.fail(c.slots[1]->loc, "cannot reshape " + describeShape(xt) + " (" +
                                       std::to_string(n) + " elements) to " +
                                       describeShape(c.g.batchedType(shape)) + " (" +
                                       std::to_string(m) + ")");
  return c.make<ReshapeOp>(c.g.batchedType(shape), x);
}

// transpose(x, [perm]) over the per-example axes.
Val buildTranspose(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  size_t rank = perExample(xt).size();
  Val v = c.gen(1);
  if (!v) return v;
  std::string expected = "transpose needs a permutation of the " + std::to_string(rank) +
                         " per-example axes";
  if (v.k != Val::K::List || v.list.size() != rank)
    return c.fail(c.slots[1]->loc, expected + ", as in [1, 0]");
  SmallVector<int64_t> perm{0};
  std::vector<bool> seen(rank);
  for (double d : v.list) {
    if (d < 0 || d >= rank || d != std::floor(d) || seen[(size_t)d])
      return c.fail(c.slots[1]->loc, expected);
    seen[(size_t)d] = true;
    perm.push_back((int64_t)d + 1);
  }
  auto type = TransposeOp::inferResultType([&] { return c.shapeError(); }, xt, perm);
  if (failed(type)) return Val();
  return c.make<TransposeOp>(*type, x, c.b().getDenseI64ArrayAttr(perm));
}

// slice(x, axis, start, end): [start, end) of one axis.
Val buildSlice(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  auto axis = c.axis(1, xt, 0);
  auto start = c.integer(2, 0, 0);
  auto end = c.integer(3, 0, 1);
  if (!axis || !start || !end) return Val();
  int64_t size = xt.getDimSize(*axis);
  if (*start >= *end || *end > size)
    return c.fail("slice [" + std::to_string(*start) + ", " + std::to_string(*end) +
                  ") is out of bounds for an axis of size " + std::to_string(size));
  auto type = SliceOp::inferResultType([&] { return c.shapeError(); }, xt, *axis, *start, *end - *start);
  if (failed(type)) return Val();
  return c.make<SliceOp>(*type, x, c.b().getI64IntegerAttr(*axis),
                         c.b().getI64IntegerAttr(*start),
                         c.b().getI64IntegerAttr(*end - *start));
}

// shift(x, amount = 1, axis = -1): move right by |amount|, zeros in front.
Val buildShift(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  if (perExample(xt).empty())
    return c.fail("shift needs at least one axis besides the batch");
  auto amount = c.integer(1, 1, 0);
  auto axis = c.axis(2, xt, -1);
  if (!amount || !axis) return Val();
  return c.make<ShiftOp>(x, c.b().getI64IntegerAttr(*axis), c.b().getI64IntegerAttr(*amount));
}

// sum(x, axis?), mean(x, axis?): over one axis, or every per-example axis.
Val buildReduction(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> axes;
  if (c.slots[1]) {
    auto axis = c.axis(1, xt, 0);
    if (!axis) return Val();
    axes.push_back(*axis);
  } else {
    for (size_t i = 0; i < perExample(xt).size(); ++i)
      axes.push_back(i + 1);
    if (axes.empty())
      return Val::tensor(x); // already one number per example
  }
  auto attr = c.b().getDenseI64ArrayAttr(axes);
  if (c.name() == "sum") {
    auto type = SumOp::inferResultType([&] { return c.shapeError(); }, xt, axes);
    if (failed(type)) return Val();
    return c.make<SumOp>(*type, x, attr);
  }
  auto type = MeanOp::inferResultType([&] { return c.shapeError(); }, xt, axes);
  if (failed(type)) return Val();
  return c.make<MeanOp>(*type, x, attr);
}

// upsample(x, factor = 2), avg_pool(x, factor = 2) on (B, C, H, W) images.
Val buildResample(BuiltinCall &c) {
  Value x = batchedInput(c);
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  if (perExample(xt).size() != 3)
    return c.fail(c.slots[0]->loc, c.name() + " expects (batch, channels, height, width) "
                                              "images, got " + describeShape(xt));
  auto factor = c.integer(1, 2, 1);
  if (!factor) return Val();
  auto attr = c.b().getI64IntegerAttr(*factor);
  if (c.name() == "upsample") {
    auto type = UpsampleOp::inferResultType([&] { return c.shapeError(); }, xt, *factor);
    if (failed(type)) return Val();
    return c.make<UpsampleOp>(*type, x, attr);
  }
  auto type = AvgPoolOp::inferResultType([&] { return c.shapeError(); }, xt, *factor);
  if (failed(type)) return Val();
  return c.make<AvgPoolOp>(*type, x, attr);
}

// gan(real, fake): the non-saturating GAN value of two logits per example.
Val buildGan(BuiltinCall &c) {
  SmallVector<Value> logits;
  for (size_t i = 0; i < 2; ++i) {
    Val v = c.gen(i);
    if (!v) return v;
    Value t = c.g.asTensor(v, c.slots[i]->loc, "an argument of gan");
    if (!t) return Val();
    auto type = cast<RankedTensorType>(t.getType());
    std::vector<int64_t> per = perExample(type);
    if (!isBatched(type) || per.size() > 1 || (per.size() == 1 && per[0] != 1))
      return c.fail(c.slots[i]->loc, "gan(real, fake) takes one discriminator "
                                     "logit per example, got " + describeShape(type));
    logits.push_back(t);
  }
  return c.make<AdversarialOp>(RankedTensorType::get({}, c.g.f32()), logits[0], logits[1]);
}

// grad(of, wrt): d sum(of) / d wrt, of wrt's shape (gm-expand-input-grads).
Val buildGrad(BuiltinCall &c) {
  Value of = c.tensor(0);
  if (!of) return Val();
  Value wrt = c.tensor(1);
  if (!wrt) return Val();
  return c.make<GradOp>(wrt.getType(), of, wrt);
}

Val buildMutualInfo(BuiltinCall &c) { return c.g.genMutualInfo(c); }
Val buildIwae(BuiltinCall &c) { return c.g.genIwae(c); }

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

using BK = BuiltinKind;

const llvm::StringMap<Builtin> &table() {
  static const llvm::StringMap<Builtin> builtins = {
      // Shapes and reductions.
      {"concat", {BK::Function, {{"inputs", "axis"}, 0}, buildConcat, /*variadic=*/true}},
      {"reshape", {BK::Function, {{"x", "shape"}, 2}, buildReshape}},
      {"flatten", {BK::Function, {{"x"}, 1}, buildReshape}},
      {"transpose", {BK::Function, {{"x", "perm"}, 2}, buildTranspose}},
      {"slice", {BK::Function, {{"x", "axis", "start", "end"}, 4}, buildSlice}},
      {"shift", {BK::Function, {{"x", "amount", "axis"}, 1}, buildShift}},
      {"sum", {BK::Function, {{"x", "axis"}, 1}, buildReduction}},
      {"mean", {BK::Function, {{"x", "axis"}, 1}, buildReduction}},
      {"upsample", {BK::Function, {{"x", "factor"}, 1}, buildResample}},
      {"avg_pool", {BK::Function, {{"x", "factor"}, 1}, buildResample}},
      {"softmax", {BK::Function, {{"x", "axis"}, 1}, buildSoftmax}},
      {"log_softmax", {BK::Function, {{"x", "axis"}, 1}, buildSoftmax}},
      {"fade", {BK::Function, {{"low", "high", "to"}, 2}, buildFade}},
      {"grad", {BK::Function, {{"of", "wrt"}, 2}, buildGrad}},
      // Reconstruction losses.
      {"mse", {BK::Function, {{"prediction", "target"}, 2}, buildLoss}},
      {"l1", {BK::Function, {{"prediction", "target"}, 2}, buildLoss}},
      {"bce_logits", {BK::Function, {{"logits", "target"}, 2}, buildLoss}},
      {"xent", {BK::Function, {{"logits", "target"}, 2}, buildLoss}},
      // Objective terms.
      {"gan", {BK::Objective, {{"real", "fake"}, 2}, buildGan}},
      {"mutual_info", {BK::Objective, {{"posterior", "code"}, 2}, buildMutualInfo}},
      {"iwae", {BK::Objective, {{"likelihood", "posterior", "prior", "k"}, 3}, buildIwae}},
      // Layers: genLayer generates the input, then the builder (Layers.cpp).
      {"linear", {BK::Layer, {{"x", "out", "bias", "init", "name"}, 2}, nullptr, false, buildLinear}},
      {"masked_linear", {BK::Layer, {{"x", "out", "mask", "bias", "init", "name"}, 2}, nullptr, false, buildLinear}},
      {"conv2d", {BK::Layer, {{"x", "out", "kernel", "stride", "padding", "bias", "init", "name"}, 3}, nullptr, false, buildConv}},
      {"conv2d_transpose", {BK::Layer, {{"x", "out", "kernel", "stride", "padding",
                                          "output_padding", "bias", "init", "name"}, 3}, nullptr, false, buildConv}},
      {"masked_conv2d", {BK::Layer, {{"x", "out", "kernel", "mask", "bias", "init", "name"}, 3}, nullptr, false, buildConv}},
      {"batch_norm", {BK::Layer, {{"x", "eps", "momentum", "name"}, 1}, nullptr, false, buildBatchNorm}},
      {"embedding", {BK::Layer, {{"ids", "vocab", "dim", "init", "name"}, 3}, nullptr, false, buildEmbedding}},
      {"lstm", {BK::Layer, {{"x", "hidden", "name"}, 2}, nullptr, false, buildLSTM}},
      {"lstm_cell", {BK::Layer, {{"x", "h", "c", "name"}, 3}, nullptr, false, buildLSTM}},
      {"row_lstm", {BK::Layer, {{"x", "hidden", "kernel", "name"}, 2}, nullptr, false, buildRowLSTM}},
      {"nade", {BK::Layer, {{"x", "hidden", "name"}, 2}, nullptr, false, buildNade}},
      // Distribution constructors (genDistCtor).
      {"normal", {BK::Distribution, {{"loc", "scale"}, 2}}},
      {"normal_logvar", {BK::Distribution, {{"loc", "logvar"}, 2}}},
      {"bernoulli_logits", {BK::Distribution, {{"logits"}, 1}}},
      {"categorical_logits", {BK::Distribution, {{"logits"}, 1}}},
      {"uniform", {BK::Distribution, {{"low", "high"}, 2}}},
      {"mixture_normal", {BK::Distribution, {{"logits", "means", "logvars"}, 3}}},
      {"discretized_logistic", {BK::Distribution, {{"loc", "log_scale"}, 2}}},
  };
  return builtins;
}

} // namespace

const Builtin *::gm::mlirgen::findBuiltin(StringRef name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

Val MLIRGenImpl::genBuiltin(const Builtin &def, const Expr &e, FnCtx &fn) {
  if (def.kind == BuiltinKind::Objective && fn.isNet)
    return fail(e.loc, e.name + "(...) is an objective term and cannot be "
                                "used inside net '" + fn.netName + "'");
  BuiltinCall call{*this, e, fn, def.sig, {}, loc(e.loc)};
  if (!def.variadic && !bindArgs(e, def.sig, call.slots))
    return Val();
  return def.build(call);
}

//===----------------------------------------------------------------------===//
// Elementwise ops, from the dialect
//===----------------------------------------------------------------------===//

Val MLIRGenImpl::genElementwise(RegisteredOperationName name, const Expr &e, FnCtx &fn) {
  Signature sig{{"x"}, 1};
  for (StringAttr a : name.getAttributeNames())
    sig.names.push_back(a.getValue());
  BuiltinCall call{*this, e, fn, sig, {}, loc(e.loc)};
  if (!bindArgs(e, sig, call.slots))
    return Val();
  Value x = call.tensor(0);
  if (!x) return Val();
  OperationState state(loc(e.loc), name);
  state.addOperands(x);
  state.addTypes(x.getType());
  // Attributes not written take the op's defaults (DefaultValuedAttr).
  name.populateDefaultAttrs(state.attributes);
  for (size_t i = 1; i < sig.names.size(); ++i) {
    if (!call.slots[i])
      continue;
    auto v = call.number(i, 0);
    if (!v) return Val();
    state.attributes.set(sig.names[i], builder.getF64FloatAttr(*v));
  }
  return Val::tensor(builder.create(state)->getResult(0));
}

//===----------------------------------------------------------------------===//
// Objective terms that read declarations
//===----------------------------------------------------------------------===//

Val MLIRGenImpl::genMutualInfo(BuiltinCall &c) {
  const Expr &e = c.e;
  FnCtx &fn = c.fn;
  Location at = c.at;
  Val q = c.dist(0);
  if (!q) return q;
  Val code = c.gen(1);
  if (!code) return code;
  Value cv = asTensor(code, c.slots[1]->loc, "the code of mutual_info");
  if (!cv) return Val();
  const ::gm::DistDecl *prior = findRole(::gm::DistDecl::Role::Prior, q.decl->var.text);
  if (!prior)
    return fail(c.slots[0]->loc, "mutual_info needs a prior for '" + q.decl->var.text + "'");
  Val p = genDistDecl(*prior, fn, {}, true);
  if (!p) return p;
  auto qt = cast<DistType>(q.value.getType()).getSampleType();
  auto pt = cast<DistType>(p.value.getType()).getSampleType();
  if (qt != cv.getType() || pt != cv.getType())
    return fail(e.loc, "mutual_info needs the posterior, code and prior over "
                       "one shape, got " + describeShape(qt) + ", " +
                       describeShape(cv.getType()) + " and " + describeShape(pt));
  return Val::tensor(builder.create<MutualInfoOp>(at, batchedType({}), q.value, cv, p.value));
}

Val MLIRGenImpl::genIwae(BuiltinCall &c) {
  const Expr &e = c.e;
  FnCtx &fn = c.fn;
  Location at = c.at;
  std::vector<const Expr *> &slots = c.slots;
  // iwae(p(x | z), q(z | x), p(z), k = K)
  const Expr &lik = *slots[0];
  if (lik.kind != Kind::Dist && !(lik.kind == Kind::Call && distNames.contains(lik.name)))
    return fail(lik.loc, "'likelihood' of iwae must be a declared likelihood, "
                         "as in p(x | z)");
  Val q = c.dist(1);
  if (!q) return q;
  Val p = c.dist(2);
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
  builder.create<YieldOp>(at, ValueRange{ll.value});
  return Val::tensor(op.getResult());
}

