//===- Expressions.cpp - expressions ----------------------------------------===//
//
// Values and expressions: references, let bindings, numpy-style
// broadcasting arithmetic, and the dispatch of a call to a net, a
// distribution, a builtin or a layer.
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
// Value helpers
//===----------------------------------------------------------------------===//

Value MLIRGenImpl::asTensor(const Val &v, ::gm::Loc l, StringRef what) {
  switch (v.k) {
  case Val::K::Tensor:
    return v.value;
  case Val::K::Num:
    return constant(v.num, l);
  case Val::K::Multi:
    emitError(loc(l)) << what << " is a tuple of " << v.values.size()
                      << " values; unpack it first, as in 'a, b = ...'";
    return {};
  case Val::K::Dist:
    emitError(loc(l)) << what << " is a distribution, not a tensor; draw "
                                 "from it with sample(...)";
    return {};
  case Val::K::List:
    emitError(loc(l)) << what << " is a list, not a tensor";
    return {};
  case Val::K::None:
    return {};
  }
  return {};
}

std::optional<double> MLIRGenImpl::asNumber(const Val &v, ::gm::Loc l,
                                            StringRef what) {
  if (v.k == Val::K::Num)
    return v.num;
  if (v)
    emitError(loc(l)) << what << " must be a constant number";
  return std::nullopt;
}

std::optional<int64_t> MLIRGenImpl::asInt(const Val &v, ::gm::Loc l,
                                          StringRef what, int64_t min) {
  auto n = asNumber(v, l, what);
  if (!n)
    return std::nullopt;
  if (*n != std::floor(*n) || *n < min || *n > (1 << 30)) {
    emitError(loc(l)) << what << " must be an integer >= " << min << ", got "
                      << fmtNum(*n);
    return std::nullopt;
  }
  return (int64_t)*n;
}

Value MLIRGenImpl::dataArg(unsigned index, FnCtx &fn) {
  for (auto &[i, arg] : fn.dataArgs)
    if (i == index)
      return arg;
  // Keep arguments in declaration order, the key last.
  unsigned pos = 0;
  while (pos < fn.dataArgs.size() && fn.dataArgs[pos].first < index)
    ++pos;
  DataOp data = dataOps[index];
  Value arg = fn.entry->insertArgument(pos, data.getType(), data.getLoc());
  fn.dataArgs.insert(fn.dataArgs.begin() + pos, {index, arg});
  return arg;
}

Value MLIRGenImpl::batchSize(Value ref, FnCtx &fn, ::gm::Loc l) {
  if (ref && isBatched(ref.getType()))
    return builder.create<BatchSizeOp>(loc(l), ref);
  if (fn.batchSize)
    return fn.batchSize;
  if (fn.isNet || dataOps.empty()) {
    emitError(loc(l)) << "cannot tell the batch size here: nothing in this "
                         "expression has a batch dimension";
    return {};
  }
  // An objective that reads no batched value still runs once per batch of
  // the model's first data input: take the batch size from it.
  Value data = fn.dataArgs.empty() ? dataArg(0, fn) : fn.dataArgs[0].second;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(fn.entry);
  fn.batchSize = builder.create<BatchSizeOp>(loc(l), data);
  return fn.batchSize;
}

std::optional<RankedTensorType>
MLIRGenImpl::broadcastShape(RankedTensorType a, RankedTensorType b) {
  bool batched = isBatched(a) || isBatched(b);
  std::vector<int64_t> x = perExample(a), y = perExample(b);
  std::vector<int64_t> out(std::max(x.size(), y.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t dx = i < x.size() ? x[x.size() - 1 - i] : 1;
    int64_t dy = i < y.size() ? y[y.size() - 1 - i] : 1;
    if (dx != dy && dx != 1 && dy != 1)
      return std::nullopt;
    out[out.size() - 1 - i] = dx == 1 ? dy : dx;
  }
  if (batched)
    return batchedType(out);
  return RankedTensorType::get(out, f32());
}

Value MLIRGenImpl::broadcastTo(Value v, RankedTensorType target, Value ref,
                               FnCtx &fn, ::gm::Loc l) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type == target)
    return v;
  // A batched value keeps its batch: reshape-free broadcasting only adds
  // leading dims, so a batched source must already be at the target rank.
  if (isBatched(type) && type.getRank() != target.getRank()) {
    std::vector<int64_t> per = perExample(type);
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    for (int64_t i = 0; i + 1 + (int64_t)per.size() < target.getRank(); ++i)
      shape.push_back(1);
    shape.append(per.begin(), per.end());
    v = builder.create<ReshapeOp>(loc(l), RankedTensorType::get(shape, f32()),
                                  v);
    if (v.getType() == target)
      return v;
  }
  SmallVector<Value> sizes;
  if (isBatched(target)) {
    Value n = batchSize(ref ? ref : (isBatched(v.getType()) ? v : Value()), fn, l);
    if (!n)
      return {};
    sizes.push_back(n);
  }
  return builder.create<BroadcastOp>(loc(l), target, v, sizes);
}

bool MLIRGenImpl::bindArgs(const Expr &call, const Signature &sig,
                           std::vector<const Expr *> &slots) {
  slots.assign(sig.names.size(), nullptr);
  size_t next = 0;
  for (const ::gm::Arg &a : call.args) {
    if (a.key.text.empty()) {
      if (next >= sig.names.size()) {
        emitError(loc(a.value->loc))
            << call.name << " takes at most " << sig.names.size()
            << " argument(s), got " << call.args.size();
        return false;
      }
      slots[next++] = a.value.get();
      continue;
    }
    auto it = llvm::find_if(sig.names,
                            [&](StringRef n) { return a.key.text == n; });
    if (it == sig.names.end()) {
      std::string expected;
      for (size_t i = 0; i < sig.names.size(); ++i)
        expected += (i ? ", " : "") + sig.names[i].str();
      emitError(loc(a.key.loc)) << "unknown argument '" << a.key.text
                                << "' for " << call.name << "; expected "
                                << expected;
      return false;
    }
    size_t index = it - sig.names.begin();
    if (slots[index]) {
      emitError(loc(a.key.loc)) << "argument '" << a.key.text << "' of "
                                << call.name << " is given twice";
      return false;
    }
    slots[index] = a.value.get();
  }
  for (unsigned i = 0; i < sig.required; ++i)
    if (!slots[i]) {
      emitError(loc(call.loc)) << call.name << " needs argument '"
                               << sig.names[i] << "' (" << sig.required
                               << " required, got " << call.args.size() << ")";
      return false;
    }
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Val MLIRGenImpl::gen(const Expr &e, FnCtx &fn) {
  switch (e.kind) {
  case Kind::Number:
    return Val::number(e.number);
  case Kind::Ref:
    return genRef(e.name, e.loc, fn);
  case Kind::Call:
    return genCall(e, fn);
  case Kind::Binary: {
    Val a = gen(*e.operands[0], fn);
    if (!a) return a;
    Val b = gen(*e.operands[1], fn);
    if (!b) return b;
    return genBinary(e.op, a, b, e.loc, fn);
  }
  case Kind::Neg: {
    Val a = gen(*e.operands[0], fn);
    if (!a) return a;
    if (a.k == Val::K::Num)
      return Val::number(-a.num);
    Value t = asTensor(a, e.loc, "the operand of '-'");
    if (!t) return Val();
    return Val::tensor(builder.create<NegOp>(loc(e.loc), t));
  }
  case Kind::List: {
    Val list;
    list.k = Val::K::List;
    for (auto &op : e.operands) {
      Val v = gen(*op, fn);
      if (!v) return v;
      auto n = asNumber(v, op->loc, "a list element");
      if (!n) return Val();
      list.list.push_back(*n);
    }
    return list;
  }
  case Kind::Dist:
    return genDistRef(e, fn);
  case Kind::LogProb:
    return genLogProb(e, fn);
  case Kind::KL:
    return genKL(e, fn);
  case Kind::Sample: {
    if (fn.isNet)
      return fail(e.loc, "sample(...) is not allowed inside net '" +
                             fn.netName + "'; nets are deterministic");
    Val d = genDistRef(*e.operands[0], fn);
    if (!d) return d;
    Value s = sample(d, fn, e.loc);
    return s ? Val::tensor(s) : Val();
  }
  }
  return Val();
}

Val MLIRGenImpl::genRef(const std::string &name, ::gm::Loc l, FnCtx &fn) {
  for (auto scope = fn.scopes.rbegin(); scope != fn.scopes.rend(); ++scope)
    if (auto it = scope->find(name); it != scope->end())
      return it->second;
  if (auto it = consts.find(name); it != consts.end())
    return Val::number(it->second);
  if (fn.lets) {
    if (auto it = fn.letCache.find(name); it != fn.letCache.end())
      return it->second;
    for (const ::gm::Assign &a : *fn.lets) {
      auto target = llvm::find_if(a.targets, [&](auto &t) { return t.text == name; });
      if (target == a.targets.end())
        continue;
      if (!fn.letsInProgress.insert(name).second)
        return fail(l, "'" + name + "' is defined in terms of itself");
      auto done = llvm::make_scope_exit([&] { fn.letsInProgress.erase(name); });
      Val v = gen(*a.value, fn);
      if (!v) return v;
      size_t n = v.k == Val::K::Multi ? v.values.size() : 1;
      if (n != a.targets.size())
        return fail(a.targets.front().loc,
                    "assignment to " + std::to_string(a.targets.size()) +
                        " name(s) from " + std::to_string(n) + " value(s)");
      for (auto [i, t] : llvm::enumerate(a.targets))
        fn.letCache[t.text] =
            v.k == Val::K::Multi ? Val::tensor(v.values[i]) : v;
      return fn.letCache[name];
    }
  }
  if (auto it = dataIndex.find(name); it != dataIndex.end()) {
    if (fn.isNet)
      return fail(l, "data '" + name + "' is not visible inside net '" +
                         fn.netName + "'; pass it as an argument");
    return Val::tensor(dataArg(it->second, fn));
  }
  if (latentVars.contains(name)) {
    if (fn.isNet)
      return fail(l, "latent '" + name + "' is not visible inside net '" +
                         fn.netName + "'; pass it as an argument");
    return latentSample(name, l, fn);
  }
  if (auto it = params.find(name); it != params.end())
    return Val::tensor(builder.create<ParamRefOp>(
        loc(l), it->second.getType(), it->second.getSymName()));
  if (netDecls.count(name))
    return fail(l, "net '" + name + "' must be called, as in " + name + "(...)");
  if (distNames.contains(name))
    return fail(l, "distribution '" + name +
                       "' must name its variable, as in " + name + "(x)");
  return fail(l, "unknown name '" + name + "'");
}

Val MLIRGenImpl::genBinary(char op, Val a, Val b, ::gm::Loc l, FnCtx &fn) {
  if (a.k == Val::K::Num && b.k == Val::K::Num) {
    switch (op) {
    case '+': return Val::number(a.num + b.num);
    case '-': return Val::number(a.num - b.num);
    case '*': return Val::number(a.num * b.num);
    default:
      if (b.num == 0)
        return fail(l, "division by zero");
      return Val::number(a.num / b.num);
    }
  }
  std::string what = std::string("an operand of '") + op + "'";
  Value x = asTensor(a, l, what);
  if (!x) return Val();
  Value y = asTensor(b, l, what);
  if (!y) return Val();
  auto tx = cast<RankedTensorType>(x.getType());
  auto ty = cast<RankedTensorType>(y.getType());
  if (!tx.getElementType().isF32() || !ty.getElementType().isF32())
    return fail(l, "arithmetic on token ids is not supported; embed them "
                   "first");
  auto out = broadcastShape(tx, ty);
  if (!out)
    return fail(l, "cannot broadcast shapes " + describeShape(tx) + " and " +
                       describeShape(ty) + " in '" + std::string(1, op) + "'");
  Value ref = isBatched(tx) ? x : (isBatched(ty) ? y : Value());
  x = broadcastTo(x, *out, ref, fn, l);
  y = x ? broadcastTo(y, *out, ref, fn, l) : Value();
  if (!x || !y)
    return Val();
  Location at = loc(l);
  switch (op) {
  case '+': return Val::tensor(builder.create<AddOp>(at, x, y));
  case '-': return Val::tensor(builder.create<SubOp>(at, x, y));
  case '*': return Val::tensor(builder.create<MulOp>(at, x, y));
  default: return Val::tensor(builder.create<DivOp>(at, x, y));
  }
}

Val MLIRGenImpl::genCall(const Expr &e, FnCtx &fn) {
  if (auto it = netDecls.find(e.name); it != netDecls.end())
    return genNetCall(*it->second, e, fn);
  if (distNames.contains(e.name)) {
    // `p(z)` names a declared distribution; with no '|' it parsed as a call.
    if (e.args.size() != 1 || !e.args[0].key.text.empty() ||
        e.args[0].value->kind != Kind::Ref)
      return fail(e.loc, "distribution '" + e.name +
                             "' is written " + e.name + "(var) or " + e.name +
                             "(var | conditions)");
    Expr ref(Kind::Dist, e.loc);
    ref.name = e.name;
    ref.var = ::gm::Name{e.args[0].value->name, e.args[0].value->loc};
    return genDistRef(ref, fn);
  }
  // An elementwise op of the dialect, by its mnemonic: relu(x), gelu(x).
  if (auto op = RegisteredOperationName::lookup(("gm." + e.name), &ctx);
      op && op->hasTrait<OpTrait::gm::ElementwiseBuiltin>())
    return genElementwise(*op, e, fn);
  if (const Builtin *b = findBuiltin(e.name)) {
    switch (b->kind) {
    case BuiltinKind::Function:
    case BuiltinKind::Objective:
      return genBuiltin(*b, e, fn);
    case BuiltinKind::Layer:
      if (!fn.isNet)
        return fail(e.loc, "layer '" + e.name +
                               "' creates parameters and may only be used "
                               "inside a net");
      return genLayer(*b, e, fn);
    case BuiltinKind::Distribution:
      return fail(e.loc, "distribution '" + e.name +
                             "' may only be used in a prior, posterior or "
                             "likelihood declaration");
    }
  }
  return fail(e.loc, "unknown function '" + e.name + "'");
}

