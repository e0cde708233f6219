//===- Entries.cpp - the inference entries ----------------------------------===//
//
// encode, decode and generate: what gmrun runs to encode, decode, sample
// and traverse, built from the declarations.
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/Impl.h"

#include <functional>
#include <set>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;

/// The mean of a distribution value, where gm has one: a normal's location,
/// a Bernoulli's probabilities. Null otherwise.
static Value distMean(OpBuilder &b, Value dist) {
  Operation *def = dist.getDefiningOp();
  if (auto n = dyn_cast_or_null<NormalOp>(def))
    return n.getLoc();
  if (auto bern = dyn_cast_or_null<BernoulliOp>(def))
    return b.create<SigmoidOp>(def->getLoc(), bern.getLogits());
  return {};
}

/// `normal(0, 1)`, written with literal numbers.
static bool isStandardNormal(const ::gm::DistDecl &d) {
  const Expr &call = *d.dist;
  auto is = [&](unsigned i, double v) {
    return call.args[i].value->kind == Kind::Number && call.args[i].value->number == v;
  };
  return call.name == "normal" && call.args.size() == 2 && is(0, 0) && is(1, 1);
}

/// A gm.func @|name| whose body |body| builds (the key is the last argument);
/// erased, and null returned, when |body| gives no value.
FuncOp MLIRGenImpl::genInferenceFn(StringRef name, FuncRole role, StringRef latent,
                                   ::gm::Loc at, function_ref<Value(FnCtx &)> body) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&model.getBlock());
  auto keyType = KeyType::get(&ctx);
  auto fn = builder.create<FuncOp>(loc(at), name, builder.getFunctionType({keyType}, {}));
  Block *entry = fn.addEntryBlock();
  FnCtx ctxFn;
  ctxFn.entry = entry;
  ctxFn.key = entry->getArgument(0);
  ctxFn.nextStream = latentStream.size();
  ctxFn.scopes.emplace_back();
  builder.setInsertionPointToEnd(entry);
  Value result = body(ctxFn);
  if (!result) {
    fn.erase();
    return nullptr;
  }
  builder.create<ReturnOp>(loc(at), ValueRange{result});
  SmallVector<Attribute> refs;
  for (auto &[index, arg] : ctxFn.dataArgs)
    refs.push_back(FlatSymbolRefAttr::get(dataOps[index].getSymNameAttr()));
  fn.setFunctionType(builder.getFunctionType(entry->getArgumentTypes(), {result.getType()}));
  fn.setInputsAttr(builder.getArrayAttr(refs));
  fn.setRole(role);
  fn.setLatent(latent);
  return fn;
}

LogicalResult MLIRGenImpl::genInference() {
  // What gmrun's encode, decode, sample and traverse run: the posterior mean
  // of each latent conditioned on data only, and the likelihood's mean given
  // a latent with a prior. Failing to build one is not an error of the
  // model (it may have no such structure): the entry is left out.
  using Role = ::gm::DistDecl::Role;
  for (const ::gm::DistDecl &d : ast.dists) {
    bool dataOnly = !d.conds.empty() && llvm::all_of(d.conds, [&](const ::gm::Name &c) {
      return dataIndex.count(c.text) > 0;
    });
    auto taken = [&](const std::string &name) {
      return SymbolTable::lookupSymbolIn(model, name) != nullptr;
    };
    if (d.role == Role::Posterior && dataOnly && latentVars.contains(d.var.text) &&
        !taken("encode." + d.var.text)) {
      ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
      genInferenceFn("encode." + d.var.text, FuncRole::encode, d.var.text, d.loc,
                     [&](FnCtx &fn) -> Value {
        Val v = genDistDecl(d, fn, {}, true);
        return v && v.k == Val::K::Dist ? distMean(builder, v.value) : Value();
      });
    }
    if (d.role != Role::Likelihood || d.conds.size() != 1 || !dataIndex.count(d.var.text) ||
        taken("decode." + d.var.text))
      continue;
    const std::string &z = d.conds[0].text;
    const ::gm::DistDecl *prior = findRole(Role::Prior, z);
    if (!prior || !prior->dims)
      continue;
    ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
    FuncOp fn = genInferenceFn("decode." + d.var.text, FuncRole::decode, z, d.loc,
                               [&](FnCtx &fn) -> Value {
      Value arg = fn.entry->insertArgument(0u, batchedType(*prior->dims), loc(d.loc));
      fn.latents[z] = arg;
      Val v = genDistDecl(d, fn, {}, true);
      if (!v || v.k != Val::K::Dist || !fn.dataArgs.empty())
        return {};
      return distMean(builder, v.value);
    });
    if (!fn)
      continue;
    // gmrun samples the prior itself when it is a standard normal.
    fn.setStandardPrior(isStandardNormal(*prior));
  }
  // A GAN's generator: in `gan(D(x), D(G(z)))` the argument of the fake
  // side's net, as a function of the one latent it reads. It is a decoder
  // for gmrun (sample, traverse): @generate.<z>.
  for (const ::gm::MinimaxDecl &m : ast.minimaxes) {
    const Expr &v = *m.value;
    if (v.kind != Kind::Call || v.name != "gan" || v.args.size() != 2)
      continue;
    const Expr &fake = *v.args[1].value;
    if (fake.kind != Kind::Call || !netDecls.count(fake.name) || fake.args.empty())
      continue;
    const Expr &inner = *fake.args[0].value;
    std::set<std::string> latentsRead;
    std::function<void(const Expr &)> walk = [&](const Expr &e) {
      if (e.kind == Kind::Ref && latentVars.contains(e.name))
        latentsRead.insert(e.name);
      for (const ::gm::ExprPtr &o : e.operands)
        if (o)
          walk(*o);
      for (const ::gm::Arg &a : e.args)
        if (a.value)
          walk(*a.value);
    };
    walk(inner);
    if (latentsRead.size() != 1)
      continue;
    std::string z = *latentsRead.begin();
    const ::gm::DistDecl *prior = findRole(Role::Prior, z);
    if (!prior || !prior->dims || SymbolTable::lookupSymbolIn(model, "generate." + z))
      continue;
    ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
    FuncOp fn = genInferenceFn("generate." + z, FuncRole::generate, z, m.valueLoc,
                               [&](FnCtx &fn) -> Value {
      Value arg = fn.entry->insertArgument(0u, batchedType(*prior->dims), loc(m.valueLoc));
      fn.latents[z] = arg;
      fn.lets = &m.lets;
      Val r = gen(inner, fn);
      if (!r || r.k != Val::K::Tensor || !fn.dataArgs.empty())
        return {};
      return r.value;
    });
    if (!fn)
      continue;
    fn.setStandardPrior(isStandardNormal(*prior));
  }
  return success();
}

