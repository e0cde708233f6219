//===- Layers.cpp - nets and layers -----------------------------------------===//
//
// A net is generated at its first call; the layers inside it create
// their parameters.
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
// Nets
//===----------------------------------------------------------------------===//

Val MLIRGenImpl::genNetCall(const ::gm::NetDecl &net, const Expr &e, FnCtx &fn) {
  if (e.args.size() != net.args.size())
    return fail(e.loc, "net '" + net.name.text + "' takes " +
                           std::to_string(net.args.size()) +
                           " argument(s), got " + std::to_string(e.args.size()));
  SmallVector<Value> args;
  SmallVector<Type> types;
  for (auto [i, a] : llvm::enumerate(e.args)) {
    if (!a.key.text.empty())
      return fail(a.key.loc, "net arguments are positional");
    Val v = gen(*a.value, fn);
    if (!v) return v;
    Value t = asTensor(v, a.value->loc,
                       "argument '" + net.args[i].text + "' of net '" +
                           net.name.text + "'");
    if (!t) return Val();
    if (!isBatched(t.getType()))
      return fail(a.value->loc, "argument '" + net.args[i].text + "' of net '" +
                                    net.name.text +
                                    "' must have a batch dimension, got " +
                                    describeShape(t.getType()));
    if (net.argDims[i] &&
        perExample(cast<RankedTensorType>(t.getType())) != *net.argDims[i]) {
      RankedTensorType want = batchedType(*net.argDims[i], f32());
      return fail(a.value->loc, "net '" + net.name.text + "' expects " +
                                    net.args[i].text + ": " + describeShape(want) +
                                    ", got " + describeShape(t.getType()));
    }
    args.push_back(t);
    types.push_back(t.getType());
  }
  NetOp op = netOps.lookup(net.name.text);
  if (!op) {
    if (netsInProgress.contains(net.name.text))
      return fail(e.loc, "net '" + net.name.text + "' calls itself");
    op = genNet(net, types, e.loc);
    if (!op)
      return Val();
  } else if (!llvm::equal(op.getArgumentTypes(), types)) {
    std::string first, now;
    for (auto [i, t] : llvm::enumerate(op.getArgumentTypes()))
      first += (i ? ", " : "") + describeShape(t);
    for (auto [i, t] : llvm::enumerate(types))
      now += (i ? ", " : "") + describeShape(t);
    InFlightDiagnostic d = emitError(loc(e.loc))
                           << "net '" << net.name.text << "' is called with ("
                           << now << ") here but with (" << first
                           << ") before; a net has one signature";
    d.attachNote(loc(netFirstCall[net.name.text])) << "first call is here";
    return Val();
  }
  auto call = builder.create<CallOp>(loc(e.loc), op.getResultTypes(),
                                     op.getSymName(), args);
  if (call.getNumResults() == 1)
    return Val::tensor(call.getResult(0));
  Val multi;
  multi.k = Val::K::Multi;
  multi.values.assign(call.getResults().begin(), call.getResults().end());
  return multi;
}

NetOp MLIRGenImpl::genNet(const ::gm::NetDecl &net, ArrayRef<Type> argTypes,
                          ::gm::Loc callLoc) {
  netsInProgress.insert(net.name.text);
  auto done = llvm::make_scope_exit([&] { netsInProgress.erase(net.name.text); });
  netFirstCall[net.name.text] = callLoc;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&model.getBlock());
  auto op = builder.create<NetOp>(loc(net.name.loc), net.name.text,
                                  builder.getFunctionType(argTypes, {}));
  Block *entry = new Block();
  op.getBody().push_back(entry);
  FnCtx fn;
  fn.isNet = true;
  fn.netName = net.name.text;
  fn.entry = entry;
  fn.scopes.emplace_back();
  for (auto [i, arg] : llvm::enumerate(net.args))
    fn.scopes.back()[arg.text] =
        Val::tensor(entry->addArgument(argTypes[i], loc(arg.loc)));
  builder.setInsertionPointToEnd(entry);
  for (const ::gm::Assign &a : net.body) {
    Val v = gen(*a.value, fn);
    if (!v) {
      op.erase();
      return nullptr;
    }
    size_t n = v.k == Val::K::Multi ? v.values.size() : 1;
    if (n != a.targets.size()) {
      emitError(loc(a.targets.front().loc))
          << "assignment to " << a.targets.size() << " name(s) from " << n
          << " value(s)";
      op.erase();
      return nullptr;
    }
    for (auto [i, t] : llvm::enumerate(a.targets))
      fn.scopes.back()[t.text] =
          v.k == Val::K::Multi ? Val::tensor(v.values[i]) : v;
  }
  SmallVector<Value> results;
  for (const ::gm::ExprPtr &r : net.results) {
    Val v = gen(*r, fn);
    Value t = v ? asTensor(v, r->loc, "a result of net '" + net.name.text + "'")
                : Value();
    if (!t) {
      op.erase();
      return nullptr;
    }
    results.push_back(t);
  }
  builder.create<ReturnOp>(loc(net.returnLoc), results);
  op.setFunctionType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  netOps[net.name.text] = op;
  return op;
}

ParamOp MLIRGenImpl::createParam(FnCtx &fn, const std::string &layer,
                                 StringRef suffix, ArrayRef<int64_t> shape,
                                 InitKind init, std::optional<double> scale,
                                 ::gm::Loc l) {
  std::string name = fn.netName + "." + layer + "." + suffix.str();
  if (params.count(name) || symbols.contains(name)) {
    emitError(loc(l)) << "parameter '" << name
                      << "' is defined twice; give the layers different "
                         "names";
    return nullptr;
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&model.getBlock());
  auto op = builder.create<ParamOp>(
      loc(l), name, RankedTensorType::get(shape, f32()), init,
      scale ? builder.getF64FloatAttr(*scale) : FloatAttr(),
      /*slot_of=*/FlatSymbolRefAttr());
  params[name] = op;
  symbols.insert(name);
  return op;
}

Val MLIRGenImpl::genLayer(StringRef name, const Signature &sig, const Expr &e,
                          FnCtx &fn) {
  std::vector<const Expr *> slots;
  if (!bindArgs(e, sig, slots))
    return Val();
  auto slot = [&](StringRef n) -> const Expr * {
    for (size_t i = 0; i < sig.names.size(); ++i)
      if (n == sig.names[i])
        return slots[i];
    return nullptr;
  };
  auto intArg = [&](StringRef n, int64_t dflt, int64_t min) -> std::optional<int64_t> {
    const Expr *x = slot(n);
    if (!x)
      return dflt;
    Val v = gen(*x, fn);
    if (!v) return std::nullopt;
    return asInt(v, x->loc, "'" + n.str() + "' of " + name.str(), min);
  };
  auto boolArg = [&](StringRef n, bool dflt) -> std::optional<bool> {
    const Expr *x = slot(n);
    if (!x)
      return dflt;
    if (x->kind == Kind::Ref && (x->name == "true" || x->name == "false"))
      return x->name == "true";
    emitError(loc(x->loc)) << "'" << n << "' of " << name
                           << " must be true or false";
    return std::nullopt;
  };
  // The input first: in linear(relu(linear(x, 256)), 32) the inner layer
  // is created, and numbered, before the outer one.
  const Expr *xExpr = slots[0];
  Val xv = gen(*xExpr, fn);
  if (!xv) return xv;
  Value x = asTensor(xv, xExpr->loc, "the input of " + name.str());
  if (!x) return Val();
  auto xt = cast<RankedTensorType>(x.getType());
  if (!isBatched(xt))
    return fail(xExpr->loc, "the input of " + name.str() +
                                " must have a batch dimension, got " +
                                describeShape(xt));
  std::vector<int64_t> per = perExample(xt);
  Location at = loc(e.loc);

  // The layer's name: `name = fc1`, else the kind and a per-net counter.
  std::string layerName;
  if (const Expr *n = slot("name")) {
    if (n->kind != Kind::Ref)
      return fail(n->loc, "'name' of " + name.str() +
                              " must be an identifier, as in name = fc1");
    layerName = n->name;
  } else {
    int &count = fn.layerCount[name];
    layerName = name.str() + std::to_string(count++);
  }
  // Initialisers: PyTorch's defaults (uniform with bound 1/sqrt(fan_in) for
  // weights and biases) unless `init =` says otherwise; with an explicit
  // init, biases start at zero.
  std::optional<std::pair<InitKind, std::optional<double>>> init;
  if (const Expr *i = slot("init")) {
    init = parseInit(*i);
    if (!init)
      return Val();
  }
  auto weightInit = [&](int64_t fanIn) {
    if (init)
      return *init;
    return std::make_pair(InitKind::uniform,
                          std::optional<double>(1.0 / std::sqrt((double)fanIn)));
  };
  auto biasInit = [&](int64_t fanIn) {
    if (init)
      return std::make_pair(InitKind::zeros, std::optional<double>());
    return std::make_pair(InitKind::uniform,
                          std::optional<double>(1.0 / std::sqrt((double)fanIn)));
  };
  auto makeParam = [&](StringRef suffix, ArrayRef<int64_t> shape,
                       std::pair<InitKind, std::optional<double>> in) -> Value {
    ParamOp p = createParam(fn, layerName, suffix, shape, in.first, in.second,
                            e.loc);
    if (!p)
      return {};
    return builder.create<ParamRefOp>(loc(e.loc), p.getType(), p.getSymName());
  };


  if (name == "embedding") {
    if (!xt.getElementType().isInteger(32) || per.size() != 1)
      return fail(xExpr->loc, "embedding expects token ids (tokens data), "
                              "got " + describeShape(xt));
    auto vocab = intArg("vocab", 0, 1);
    auto dim = intArg("dim", 0, 1);
    if (!vocab || !dim) return Val();
    Value table = makeParam("weight", {*vocab, *dim},
                            init ? *init : std::make_pair(InitKind::normal,
                                                          std::optional<double>(1.0)));
    if (!table) return Val();
    return Val::tensor(builder.create<EmbeddingOp>(
        at, batchedType({per[0], *dim}), x, table));
  }
  if (!xt.getElementType().isF32())
    return fail(xExpr->loc, name.str() + " expects f32 values; embed token ids "
                                         "first");

  if (name == "linear" || name == "masked_linear") {
    if (per.size() != 1)
      return fail(xExpr->loc, name.str() + " expects a (batch, features) "
                                           "input, got " + describeShape(xt) +
                                           "; flatten it first");
    auto out = intArg("out", 0, 1);
    auto bias = boolArg("bias", true);
    if (!out || !bias) return Val();
    Value w = makeParam("weight", {*out, per[0]}, weightInit(per[0]));
    Value b = *bias ? makeParam("bias", {*out}, biasInit(per[0])) : Value();
    if (!w || (*bias && !b)) return Val();
    if (name == "linear")
      return Val::tensor(builder.create<LinearOp>(at, batchedType({*out}), x, w, b));
    MaskKind mask = MaskKind::A;
    if (const Expr *m = slot("mask")) {
      auto k = m->kind == Kind::Ref ? symbolizeMaskKind(m->name) : std::nullopt;
      if (!k)
        return fail(m->loc, "'mask' must be A or B");
      mask = *k;
    }
    return Val::tensor(builder.create<MaskedLinearOp>(at, batchedType({*out}),
                                                      x, w, b, mask));
  }

  if (name == "conv2d" || name == "conv2d_transpose" || name == "masked_conv2d") {
    if (per.size() != 3)
      return fail(xExpr->loc, name.str() + " expects (batch, channels, height, "
                                           "width) images, got " + describeShape(xt) +
                                           "; reshape it first");
    auto out = intArg("out", 0, 1);
    auto k = intArg("kernel", 0, 1);
    auto bias = boolArg("bias", true);
    if (!out || !k || !bias) return Val();
    int64_t c = per[0];
    // The op's shape rule gives the result type, before any parameter is
    // created; its errors are reported at the call, as "conv2d kernel ...".
    auto shapeError = [&]() -> InFlightDiagnostic {
      InFlightDiagnostic d = emitError(at);
      d << name << " ";
      return d;
    };
    auto f32Type = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, f32());
    };
    RankedTensorType biasType = *bias ? f32Type({*out}) : RankedTensorType();
    if (name == "masked_conv2d") {
      MaskKind mask = MaskKind::A;
      if (const Expr *m = slot("mask")) {
        auto mk = m->kind == Kind::Ref ? symbolizeMaskKind(m->name) : std::nullopt;
        if (!mk)
          return fail(m->loc, "'mask' must be A or B");
        mask = *mk;
      }
      auto type = MaskedConv2DOp::inferResultType(shapeError, xt, f32Type({*out, c, *k, *k}),
                                                  biasType);
      if (failed(type)) return Val();
      Value wt = makeParam("weight", {*out, c, *k, *k}, weightInit(c * *k * *k));
      Value b = *bias ? makeParam("bias", {*out}, biasInit(c * *k * *k)) : Value();
      if (!wt || (*bias && !b)) return Val();
      return Val::tensor(builder.create<MaskedConv2DOp>(at, *type, x, wt, b, mask));
    }
    auto stride = intArg("stride", 1, 1);
    auto pad = intArg("padding", 0, 0);
    if (!stride || !pad) return Val();
    SmallVector<int64_t> strides{*stride, *stride}, pads{*pad, *pad};
    if (name == "conv2d") {
      auto type = Conv2DOp::inferResultType(shapeError, xt, f32Type({*out, c, *k, *k}),
                                            biasType, strides, pads);
      if (failed(type)) return Val();
      Value wt = makeParam("weight", {*out, c, *k, *k}, weightInit(c * *k * *k));
      Value b = *bias ? makeParam("bias", {*out}, biasInit(c * *k * *k)) : Value();
      if (!wt || (*bias && !b)) return Val();
      return Val::tensor(builder.create<Conv2DOp>(at, *type, x, wt, b,
                                                  builder.getDenseI64ArrayAttr(strides),
                                                  builder.getDenseI64ArrayAttr(pads)));
    }
    auto outPad = intArg("output_padding", 0, 0);
    if (!outPad) return Val();
    if (*outPad >= *stride)
      return fail(slot("output_padding")->loc,
                  "output_padding must be smaller than the stride");
    SmallVector<int64_t> outPads{*outPad, *outPad};
    auto type = Conv2DTransposeOp::inferResultType(shapeError, xt, f32Type({c, *out, *k, *k}),
                                                   biasType, strides, pads, outPads);
    if (failed(type)) return Val();
    // PyTorch computes a transposed convolution's fan-in from weight dim 1.
    Value wt = makeParam("weight", {c, *out, *k, *k}, weightInit(*out * *k * *k));
    Value b = *bias ? makeParam("bias", {*out}, biasInit(*out * *k * *k)) : Value();
    if (!wt || (*bias && !b)) return Val();
    return Val::tensor(builder.create<Conv2DTransposeOp>(
        at, *type, x, wt, b, builder.getDenseI64ArrayAttr(strides),
        builder.getDenseI64ArrayAttr(pads), builder.getDenseI64ArrayAttr(outPads)));
  }

  if (name == "batch_norm") {
    if (per.empty())
      return fail(xExpr->loc, "batch_norm expects (batch, channels, ...), got " +
                                  describeShape(xt));
    double eps = 1e-5, momentum = 0.1;
    for (auto [key, out] : {std::make_pair("eps", &eps),
                            std::make_pair("momentum", &momentum)})
      if (const Expr *s = slot(key)) {
        Val v = gen(*s, fn);
        auto n = v ? asNumber(v, s->loc, std::string("'") + key + "' of batch_norm")
                   : std::nullopt;
        if (!n) return Val();
        if (!(*n > 0) || *n >= 1)
          return fail(s->loc, std::string("'") + key +
                                  "' of batch_norm must be in (0, 1)");
        *out = *n;
      }
    Value g = makeParam("weight", {per[0]}, {InitKind::ones, std::nullopt});
    Value b = makeParam("bias", {per[0]}, {InitKind::zeros, std::nullopt});
    if (!g || !b) return Val();
    return Val::tensor(builder.create<BatchNormOp>(
        at, xt, x, g, b, builder.getF64FloatAttr(eps),
        builder.getF64FloatAttr(momentum)));
  }

  if (name == "lstm_cell" || name == "lstm") {
    // lstm(x, hidden): x (B, T, E) -> final hidden state (B, H), unrolled
    // over T with one set of weights. lstm_cell(x, h, c): one step.
    int64_t in, hid;
    Value h, c;
    if (name == "lstm") {
      if (per.size() != 2)
        return fail(xExpr->loc, "lstm expects a (batch, time, features) "
                                "sequence, got " + describeShape(xt));
      auto hv = intArg("hidden", 0, 1);
      if (!hv) return Val();
      if (per[0] > 256)
        return fail(xExpr->loc, "lstm unrolls at most 256 steps, got " +
                                    std::to_string(per[0]));
      in = per[1];
      hid = *hv;
    } else {
      if (per.size() != 1)
        return fail(xExpr->loc, "lstm_cell expects a (batch, features) input, "
                                "got " + describeShape(xt));
      Val hv = gen(*slot("h"), fn), cv = hv ? gen(*slot("c"), fn) : Val();
      h = hv ? asTensor(hv, slot("h")->loc, "h of lstm_cell") : Value();
      c = cv ? asTensor(cv, slot("c")->loc, "c of lstm_cell") : Value();
      if (!h || !c) return Val();
      auto ht = cast<RankedTensorType>(h.getType());
      if (!isBatched(ht) || ht.getRank() != 2 || c.getType() != ht)
        return fail(slot("h")->loc, "lstm_cell expects h and c of one "
                                    "(batch, hidden) shape, got " +
                                        describeShape(ht) + " and " +
                                        describeShape(c.getType()));
      in = per[0];
      hid = ht.getDimSize(1);
    }
    Value wih = makeParam("weight_ih", {4 * hid, in}, weightInit(hid));
    Value whh = makeParam("weight_hh", {4 * hid, hid}, weightInit(hid));
    Value b = makeParam("bias", {4 * hid}, biasInit(hid));
    if (!wih || !whh || !b) return Val();
    auto state = batchedType({hid});
    if (name == "lstm_cell") {
      auto cell = builder.create<LSTMCellOp>(at, state, state, x, h, c, wih, whh, b);
      Val multi;
      multi.k = Val::K::Multi;
      multi.values = {cell.getHNext(), cell.getCNext()};
      return multi;
    }
    auto zeroType = RankedTensorType::get({hid}, f32());
    Value zero = builder.create<ConstantOp>(
        at, zeroType, DenseElementsAttr::get(zeroType, 0.0f));
    Value n = builder.create<BatchSizeOp>(at, x);
    h = builder.create<BroadcastOp>(at, state, zero, ValueRange{n});
    c = h;
    for (int64_t t = 0; t < per[0]; ++t) {
      Value step = builder.create<SliceOp>(
          at, batchedType({1, in}), x, builder.getI64IntegerAttr(1),
          builder.getI64IntegerAttr(t), builder.getI64IntegerAttr(1));
      step = builder.create<ReshapeOp>(at, batchedType({in}), step);
      auto cell = builder.create<LSTMCellOp>(at, state, state, step, h, c, wih, whh, b);
      h = cell.getHNext();
      c = cell.getCNext();
    }
    return Val::tensor(h);
  }

  if (name == "row_lstm") {
    if (per.size() != 3)
      return fail(xExpr->loc, "row_lstm expects (batch, channels, rows, "
                              "columns) images, got " + describeShape(xt));
    auto hid = intArg("hidden", 0, 1);
    auto k = intArg("kernel", 3, 1);
    if (!hid || !k) return Val();
    if (*k % 2 == 0)
      return fail(slot("kernel")->loc, "row_lstm needs an odd kernel");
    Value wis = makeParam("weight_is", {4 * *hid, per[0], 1, *k},
                          weightInit(per[0] * *k));
    Value wss = makeParam("weight_ss", {4 * *hid, *hid, 1, *k},
                          weightInit(*hid * *k));
    Value b = makeParam("bias", {4 * *hid}, biasInit(*hid * *k));
    if (!wis || !wss || !b) return Val();
    return Val::tensor(builder.create<RowLSTMOp>(
        at, batchedType({*hid, per[1], per[2]}), x, wis, wss, b));
  }

  // nade(x, hidden): x (B, D) -> logits (B, D).
  if (per.size() != 1)
    return fail(xExpr->loc, "nade expects (batch, pixels) input, got " +
                                describeShape(xt) + "; flatten it first");
  auto hid = intArg("hidden", 0, 1);
  if (!hid) return Val();
  int64_t d = per[0];
  Value W = makeParam("W", {*hid, d}, weightInit(d));
  Value cb = makeParam("c", {*hid}, {InitKind::zeros, std::nullopt});
  Value V = makeParam("V", {d, *hid}, weightInit(*hid));
  Value bb = makeParam("b", {d}, {InitKind::zeros, std::nullopt});
  if (!W || !cb || !V || !bb) return Val();
  return Val::tensor(builder.create<NadeOp>(at, batchedType({d}), x, W, cb, V, bb));
}

