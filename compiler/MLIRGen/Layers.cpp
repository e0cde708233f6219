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

Val MLIRGenImpl::genLayer(const Builtin &def, const Expr &e, FnCtx &fn) {
  LayerCall c{{*this, e, fn, def.sig, {}, loc(e.loc)}, {}, {}, {}, {}, {}};
  if (!bindArgs(e, def.sig, c.slots))
    return Val();
  const Expr *xExpr = c.slots[0];
  Val xv = gen(*xExpr, fn);
  if (!xv) return xv;
  c.x = asTensor(xv, xExpr->loc, "the input of " + e.name);
  if (!c.x) return Val();
  c.xt = cast<RankedTensorType>(c.x.getType());
  if (!isBatched(c.xt))
    return fail(xExpr->loc, "the input of " + e.name + " must have a batch dimension, got " +
                                describeShape(c.xt));
  c.per = perExample(c.xt);
  if (const Expr *n = c.slot("name")) {
    if (n->kind != Kind::Ref)
      return fail(n->loc, "'name' of " + e.name + " must be an identifier, as in name = fc1");
    c.layerName = n->name;
  } else {
    int &count = fn.layerCount[e.name];
    c.layerName = e.name + std::to_string(count++);
  }
  if (const Expr *i = c.slot("init")) {
    c.init = parseInit(*i);
    if (!c.init)
      return Val();
  }
  if (e.name != "embedding" && !c.xt.getElementType().isF32())
    return fail(xExpr->loc, e.name + " expects f32 values; embed token ids first");
  return def.layer(c);
}

//===----------------------------------------------------------------------===//
// Layers, one builder per family; each result type comes from the op's
// shape rule before any parameter is created
//===----------------------------------------------------------------------===//

namespace gm::mlirgen {

// embedding(ids, vocab, dim): tokens[t] -> [t, dim].
Val buildEmbedding(LayerCall &c) {
  if (!c.xt.getElementType().isInteger(32) || c.per.size() != 1)
    return c.failInput("embedding expects token ids (tokens data), got " + describeShape(c.xt));
  auto vocab = c.intArg("vocab", 0, 1);
  auto dim = c.intArg("dim", 0, 1);
  if (!vocab || !dim) return Val();
  auto type = EmbeddingOp::inferResultType([&] { return c.shapeError(); }, c.xt,
                                           c.f32Type({*vocab, *dim}));
  if (failed(type)) return Val();
  Value table = c.param("weight", {*vocab, *dim},
                        c.init ? *c.init : LayerCall::Init(InitKind::normal, 1.0));
  if (!table) return Val();
  return c.make<EmbeddingOp>(*type, c.x, table);
}

// linear(x, out), masked_linear(x, out, mask = A): [in] -> [out].
Val buildLinear(LayerCall &c) {
  if (c.per.size() != 1)
    return c.failInput(c.name() + " expects a (batch, features) input, got " +
                       describeShape(c.xt) + "; flatten it first");
  auto out = c.intArg("out", 0, 1);
  auto bias = c.boolArg("bias", true);
  if (!out || !bias) return Val();
  int64_t in = c.per[0];
  RankedTensorType wType = c.f32Type({*out, in});
  RankedTensorType bType = *bias ? c.f32Type({*out}) : RankedTensorType();
  bool masked = c.name() == "masked_linear";
  std::optional<MaskKind> mask = masked ? c.maskArg() : MaskKind::A;
  if (!mask) return Val();
  auto type = masked ? MaskedLinearOp::inferResultType([&] { return c.shapeError(); }, c.xt,
                                                       wType, bType)
                     : LinearOp::inferResultType([&] { return c.shapeError(); }, c.xt, wType,
                                                 bType);
  if (failed(type)) return Val();
  Value w = c.param("weight", {*out, in}, c.weightInit(in));
  Value b = *bias ? c.param("bias", {*out}, c.biasInit(in)) : Value();
  if (!w || (*bias && !b)) return Val();
  if (masked)
    return c.make<MaskedLinearOp>(*type, c.x, w, b, *mask);
  return c.make<LinearOp>(*type, c.x, w, b);
}

// conv2d(x, out, kernel, stride = 1, padding = 0), conv2d_transpose(...,
// output_padding = 0), masked_conv2d(x, out, kernel, mask = A):
// (C, H, W) images.
Val buildConv(LayerCall &c) {
  StringRef name = c.name();
  if (c.per.size() != 3)
    return c.failInput(name + " expects (batch, channels, height, width) images, got " +
                       describeShape(c.xt) + "; reshape it first");
  auto out = c.intArg("out", 0, 1);
  auto k = c.intArg("kernel", 0, 1);
  auto bias = c.boolArg("bias", true);
  if (!out || !k || !bias) return Val();
  int64_t ch = c.per[0];
  auto err = [&] { return c.shapeError(); };
  RankedTensorType bType = *bias ? c.f32Type({*out}) : RankedTensorType();
  OpBuilder &b = c.b();
  if (name == "masked_conv2d") {
    auto mask = c.maskArg();
    if (!mask) return Val();
    auto type = MaskedConv2DOp::inferResultType(err, c.xt, c.f32Type({*out, ch, *k, *k}), bType);
    if (failed(type)) return Val();
    Value w = c.param("weight", {*out, ch, *k, *k}, c.weightInit(ch * *k * *k));
    Value bv = *bias ? c.param("bias", {*out}, c.biasInit(ch * *k * *k)) : Value();
    if (!w || (*bias && !bv)) return Val();
    return c.make<MaskedConv2DOp>(*type, c.x, w, bv, *mask);
  }
  auto stride = c.intArg("stride", 1, 1);
  auto pad = c.intArg("padding", 0, 0);
  if (!stride || !pad) return Val();
  SmallVector<int64_t> strides{*stride, *stride}, pads{*pad, *pad};
  if (name == "conv2d") {
    auto type = Conv2DOp::inferResultType(err, c.xt, c.f32Type({*out, ch, *k, *k}), bType,
                                          strides, pads);
    if (failed(type)) return Val();
    Value w = c.param("weight", {*out, ch, *k, *k}, c.weightInit(ch * *k * *k));
    Value bv = *bias ? c.param("bias", {*out}, c.biasInit(ch * *k * *k)) : Value();
    if (!w || (*bias && !bv)) return Val();
    return c.make<Conv2DOp>(*type, c.x, w, bv, b.getDenseI64ArrayAttr(strides),
                            b.getDenseI64ArrayAttr(pads));
  }
  auto outPad = c.intArg("output_padding", 0, 0);
  if (!outPad) return Val();
  if (*outPad >= *stride)
    return c.fail(c.slot("output_padding")->loc, "output_padding must be smaller than the stride");
  SmallVector<int64_t> outPads{*outPad, *outPad};
  auto type = Conv2DTransposeOp::inferResultType(err, c.xt, c.f32Type({ch, *out, *k, *k}), bType,
                                                 strides, pads, outPads);
  if (failed(type)) return Val();
  // PyTorch computes a transposed convolution's fan-in from weight dim 1.
  Value w = c.param("weight", {ch, *out, *k, *k}, c.weightInit(*out * *k * *k));
  Value bv = *bias ? c.param("bias", {*out}, c.biasInit(*out * *k * *k)) : Value();
  if (!w || (*bias && !bv)) return Val();
  return c.make<Conv2DTransposeOp>(*type, c.x, w, bv, b.getDenseI64ArrayAttr(strides),
                                   b.getDenseI64ArrayAttr(pads),
                                   b.getDenseI64ArrayAttr(outPads));
}

// batch_norm(x, eps = 1e-5, momentum = 0.1): per channel (axis 1).
Val buildBatchNorm(LayerCall &c) {
  if (c.per.empty())
    return c.failInput("batch_norm expects (batch, channels, ...), got " + describeShape(c.xt));
  double eps = 1e-5, momentum = 0.1;
  for (auto [key, out] : {std::make_pair("eps", &eps), std::make_pair("momentum", &momentum)})
    if (const Expr *s = c.slot(key)) {
      Val v = c.g.gen(*s, c.fn);
      auto n = v ? c.g.asNumber(v, s->loc, std::string("'") + key + "' of batch_norm")
                 : std::nullopt;
      if (!n) return Val();
      if (!(*n > 0) || *n >= 1)
        return c.fail(s->loc, std::string("'") + key + "' of batch_norm must be in (0, 1)");
      *out = *n;
    }
  RankedTensorType chType = c.f32Type({c.per[0]});
  auto type = BatchNormOp::inferResultType([&] { return c.shapeError(); }, c.xt, chType, chType);
  if (failed(type)) return Val();
  Value g = c.param("weight", {c.per[0]}, {InitKind::ones, std::nullopt});
  Value b = c.param("bias", {c.per[0]}, {InitKind::zeros, std::nullopt});
  // Running statistics, as PyTorch starts them: not trained (no group takes
  // a statistic), written by each training step, read by inference.
  Value mean = c.statistic("running_mean", {c.per[0]}, InitKind::zeros);
  Value var = c.statistic("running_var", {c.per[0]}, InitKind::ones);
  if (!g || !b || !mean || !var) return Val();
  return c.make<BatchNormOp>(*type, c.x, g, b, mean, var, c.b().getF64FloatAttr(eps),
                             c.b().getF64FloatAttr(momentum));
}

// lstm(x, hidden): x (B, T, E) -> the final hidden state (B, H), unrolled
// over T with one set of weights. lstm_cell(x, h, c): one step, (h, c).
Val buildLSTM(LayerCall &c) {
  MLIRGenImpl &g = c.g;
  int64_t in, hid;
  Value h, cell;
  if (c.name() == "lstm") {
    if (c.per.size() != 2)
      return c.failInput("lstm expects a (batch, time, features) sequence, got " +
                         describeShape(c.xt));
    auto hv = c.intArg("hidden", 0, 1);
    if (!hv) return Val();
    if (c.per[0] > 256)
      return c.failInput("lstm unrolls at most 256 steps, got " + std::to_string(c.per[0]));
    in = c.per[1];
    hid = *hv;
  } else {
    if (c.per.size() != 1)
      return c.failInput("lstm_cell expects a (batch, features) input, got " +
                         describeShape(c.xt));
    const Expr *hExpr = c.slot("h"), *cExpr = c.slot("c");
    Val hv = g.gen(*hExpr, c.fn), cv = hv ? g.gen(*cExpr, c.fn) : Val();
    h = hv ? g.asTensor(hv, hExpr->loc, "h of lstm_cell") : Value();
    cell = cv ? g.asTensor(cv, cExpr->loc, "c of lstm_cell") : Value();
    if (!h || !cell) return Val();
    auto ht = cast<RankedTensorType>(h.getType());
    if (!isBatched(ht) || ht.getRank() != 2 || cell.getType() != ht)
      return c.fail(hExpr->loc, "lstm_cell expects h and c of one (batch, hidden) shape, got " +
                                    describeShape(ht) + " and " + describeShape(cell.getType()));
    in = c.per[0];
    hid = ht.getDimSize(1);
  }
  Value wih = c.param("weight_ih", {4 * hid, in}, c.weightInit(hid));
  Value whh = c.param("weight_hh", {4 * hid, hid}, c.weightInit(hid));
  Value b = c.param("bias", {4 * hid}, c.biasInit(hid));
  if (!wih || !whh || !b) return Val();
  auto state = g.batchedType({hid});
  OpBuilder &ob = c.b();
  if (c.name() == "lstm_cell") {
    auto op = ob.create<LSTMCellOp>(c.at, state, state, c.x, h, cell, wih, whh, b);
    Val multi;
    multi.k = Val::K::Multi;
    multi.values = {op.getHNext(), op.getCNext()};
    return multi;
  }
  auto zeroType = c.f32Type({hid});
  Value zero = ob.create<ConstantOp>(c.at, zeroType, DenseElementsAttr::get(zeroType, 0.0f));
  Value n = ob.create<BatchSizeOp>(c.at, c.x);
  h = ob.create<BroadcastOp>(c.at, state, zero, ValueRange{n});
  cell = h;
  for (int64_t t = 0; t < c.per[0]; ++t) {
    Value step = ob.create<SliceOp>(c.at, g.batchedType({1, in}), c.x, ob.getI64IntegerAttr(1),
                                    ob.getI64IntegerAttr(t), ob.getI64IntegerAttr(1));
    step = ob.create<ReshapeOp>(c.at, g.batchedType({in}), step);
    auto op = ob.create<LSTMCellOp>(c.at, state, state, step, h, cell, wih, whh, b);
    h = op.getHNext();
    cell = op.getCNext();
  }
  return Val::tensor(h);
}

// row_lstm(x, hidden, kernel = 3): PixelRNN's Row LSTM, (C, R, W) -> (H, R, W).
Val buildRowLSTM(LayerCall &c) {
  if (c.per.size() != 3)
    return c.failInput("row_lstm expects (batch, channels, rows, columns) images, got " +
                       describeShape(c.xt));
  auto hid = c.intArg("hidden", 0, 1);
  auto k = c.intArg("kernel", 3, 1);
  if (!hid || !k) return Val();
  if (*k % 2 == 0)
    return c.fail(c.slot("kernel")->loc, "row_lstm needs an odd kernel");
  int64_t ch = c.per[0];
  auto type = RowLSTMOp::inferResultType([&] { return c.shapeError(); }, c.xt,
                                         c.f32Type({4 * *hid, ch, 1, *k}),
                                         c.f32Type({4 * *hid, *hid, 1, *k}),
                                         c.f32Type({4 * *hid}));
  if (failed(type)) return Val();
  Value wis = c.param("weight_is", {4 * *hid, ch, 1, *k}, c.weightInit(ch * *k));
  Value wss = c.param("weight_ss", {4 * *hid, *hid, 1, *k}, c.weightInit(*hid * *k));
  Value b = c.param("bias", {4 * *hid}, c.biasInit(*hid * *k));
  if (!wis || !wss || !b) return Val();
  return c.make<RowLSTMOp>(*type, c.x, wis, wss, b);
}

// nade(x, hidden): x (B, D) -> the D conditionals' logits (B, D).
Val buildNade(LayerCall &c) {
  if (c.per.size() != 1)
    return c.failInput("nade expects (batch, pixels) input, got " + describeShape(c.xt) +
                       "; flatten it first");
  auto hid = c.intArg("hidden", 0, 1);
  if (!hid) return Val();
  int64_t d = c.per[0];
  auto type = NadeOp::inferResultType([&] { return c.shapeError(); }, c.xt,
                                      c.f32Type({*hid, d}), c.f32Type({*hid}),
                                      c.f32Type({d, *hid}), c.f32Type({d}));
  if (failed(type)) return Val();
  Value W = c.param("W", {*hid, d}, c.weightInit(d));
  Value cb = c.param("c", {*hid}, {InitKind::zeros, std::nullopt});
  Value V = c.param("V", {d, *hid}, c.weightInit(*hid));
  Value bb = c.param("b", {d}, {InitKind::zeros, std::nullopt});
  if (!W || !cb || !V || !bb) return Val();
  return c.make<NadeOp>(*type, c.x, W, cb, V, bb);
}

} // namespace gm::mlirgen
