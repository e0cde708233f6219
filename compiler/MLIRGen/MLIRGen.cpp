//===- MLIRGen.cpp - .gm AST to gm dialect --------------------------------===//
//
// Walks the ModelAST once and emits a gm.model. What it decides:
//
// - Shapes. Values flowing through nets and objectives are batched,
//   tensor<?x...xf32>; parameters and constants are not. Binary arithmetic
//   broadcasts numpy-style on the per-example dims, and MLIRGen writes every
//   broadcast out as a gm.broadcast, so the ops themselves see equal types.
// - Nets are generated at their first call, with the argument types of that
//   call (or the types annotated in the .gm file); every later call must
//   agree. A layer call inside a net creates its parameters, named
//   <net>.<layer><index>.<weight|bias|...>, or <net>.<name>.* with `name =`.
// - Objectives take one argument per data input they read (in declaration
//   order) and a !gm.key last. Inside one objective each latent variable is
//   sampled once: from its posterior when one is declared, else its prior.
// - Training blocks become gm.step / gm.minimax over gm.group ops that list
//   the parameters reachable from the named nets.
//
// Every error is reported at the .gm location of the construct at fault and
// generation stops; the finished module is verified before it is returned.
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/MLIRGen.h"
#include "compiler/MLIRGen/Impl.h"

#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> MLIRGenImpl::generate() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(ast.name.loc));
  builder.setInsertionPointToEnd(module->getBody());
  model = builder.create<ModelOp>(loc(ast.name.loc), ast.name.text);
  builder.setInsertionPointToEnd(&model.getBlock());

  if (failed(checkNames()) || failed(genConsts()) || failed(genData()) ||
      failed(genModelParams()) || failed(genProgressive()) ||
      failed(genObjectives()) || failed(genInference()) || failed(genMinimaxes()) ||
      failed(genGroups()) || failed(genTrains()))
    return nullptr;
  reorder();
  if (failed(checkSizes()) || failed(verify(*module)))
    return nullptr;
  return module;
}

LogicalResult MLIRGenImpl::checkSizes() {
  // A tensor that no machine gm runs on could hold is an error here, at the
  // .gm construct that makes it, not an allocation failure hours into a run.
  // Per example for batched values: the batch multiplies it at run time.
  auto tooLarge = [&](Location at, StringRef what, RankedTensorType t,
                      int64_t limit) -> LogicalResult {
    int64_t n = 1;
    for (int64_t d : t.getShape())
      if (!ShapedType::isDynamic(d)) {
        n *= d;
        if (n > limit)
          break;
      }
    if (n <= limit)
      return success();
    return emitError(at) << what << " " << describeShape(t) << " has more than " << limit
                         << " elements" << (isBatched(t) ? " per example" : "")
                         << " (4 bytes each), gm's limit (docs/language.md)";
  };
  for (Operation &op : model.getBlock())
    if (auto p = dyn_cast<ParamOp>(op))
      if (failed(tooLarge(p.getLoc(), ("parameter '" + p.getSymName() + "'").str(),
                          p.getType(), kMaxParamElements)))
        return mlir::failure();
  WalkResult result = model.walk([&](Operation *op) {
    for (Value r : op->getResults())
      if (auto t = dyn_cast<RankedTensorType>(r.getType()))
        if (failed(tooLarge(op->getLoc(), "a value of shape", t,
                            isBatched(t) ? kMaxValueElements : kMaxParamElements)))
          return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return mlir::failure(result.wasInterrupted());
}

LogicalResult MLIRGenImpl::checkNames() {
  llvm::StringMap<::gm::Loc> seen;
  auto declare = [&](const ::gm::Name &n) -> LogicalResult {
    auto [it, inserted] = seen.try_emplace(n.text, n.loc);
    if (inserted)
      return success();
    InFlightDiagnostic d = emitError(loc(n.loc))
                           << "redefinition of '" << n.text << "'";
    d.attachNote(loc(it->second)) << "previous definition is here";
    return mlir::failure();
  };
  for (auto &c : ast.consts)
    if (failed(declare(c.name))) return mlir::failure();
  for (auto &d : ast.data)
    if (failed(declare(d.name))) return mlir::failure();
  for (auto &p : ast.params)
    if (failed(declare(p.name))) return mlir::failure();
  for (auto &n : ast.nets) {
    if (failed(declare(n.name))) return mlir::failure();
    netDecls[n.name.text] = &n;
    llvm::StringSet<> args;
    for (const ::gm::Name &a : n.args)
      if (!args.insert(a.text).second)
        return failure(a.loc, "duplicate argument '" + a.text + "' of net '" +
                                  n.name.text + "'");
  }
  for (auto &o : ast.objectives)
    if (failed(declare(o.name))) return mlir::failure();
  for (auto &g : ast.groups) {
    if (failed(declare(g.name))) return mlir::failure();
    groupDecls[g.name.text] = &g;
  }
  for (auto &t : ast.trains)
    if (!t.name.text.empty() && failed(declare(t.name))) return mlir::failure();
  for (auto &m : ast.minimaxes)
    if (failed(declare(m.name))) return mlir::failure();
  for (auto &p : ast.progressives)
    if (failed(declare(p.name))) return mlir::failure();

  // Distributions share a name across variables (p(z) and p(x | z)), but a
  // (name, variable) pair is declared once and the name is nothing else.
  std::map<std::pair<std::string, std::string>, ::gm::Loc> dists;
  for (auto &d : ast.dists) {
    if (seen.count(d.name.text))
      return failure(d.name.loc, "'" + d.name.text +
                                     "' is already declared as something "
                                     "other than a distribution");
    auto [it, inserted] =
        dists.try_emplace({d.name.text, d.var.text}, d.name.loc);
    if (!inserted) {
      InFlightDiagnostic diag = emitError(loc(d.name.loc))
                                << "redefinition of distribution '"
                                << d.name.text << "(" << d.var.text << ")'";
      diag.attachNote(loc(it->second)) << "previous definition is here";
      return mlir::failure();
    }
    distNames.insert(d.name.text);
    if (d.role != ::gm::DistDecl::Role::Likelihood) {
      if (llvm::any_of(ast.data, [&](auto &x) { return x.name.text == d.var.text; }))
        return failure(d.var.loc, "'" + d.var.text +
                                      "' is data; a prior or posterior is over "
                                      "a latent variable");
      if (latentVars.insert(d.var.text).second)
        latentStream[d.var.text] = latentStream.size();
    }
    // A prior is conditioned on other latents only (p(z1 | z2) in a
    // hierarchy): on data it would be a likelihood or a posterior.
    if (d.role == ::gm::DistDecl::Role::Prior)
      for (const ::gm::Name &c : d.conds)
        if (llvm::any_of(ast.data, [&](auto &x) { return x.name.text == c.text; }))
          return failure(c.loc, "'" + c.text + "' is data; a prior is conditioned on "
                                               "latents only; use a likelihood or posterior");
    if (seen.count(d.var.text) &&
        !llvm::any_of(ast.data, [&](auto &x) { return x.name.text == d.var.text; }))
      return failure(d.var.loc, "'" + d.var.text +
                                    "' is already declared and cannot be a "
                                    "random variable");
  }
  if (ast.progressives.size() > 1)
    return failure(ast.progressives[1].name.loc,
                   "a model has at most one progressive schedule");
  for (auto &kv : seen)
    symbols.insert(kv.getKey());
  return success();
}

std::optional<double> MLIRGenImpl::evalConst(const Expr &e, StringRef what) {
  switch (e.kind) {
  case Kind::Number:
    return e.number;
  case Kind::Ref: {
    auto it = consts.find(e.name);
    if (it != consts.end())
      return it->second;
    emitError(loc(e.loc)) << what << " refers to '" << e.name
                          << "', which is not an earlier constant";
    return std::nullopt;
  }
  case Kind::Neg: {
    auto v = evalConst(*e.operands[0], what);
    return v ? std::optional<double>(-*v) : std::nullopt;
  }
  case Kind::Binary: {
    auto a = evalConst(*e.operands[0], what);
    if (!a)
      return std::nullopt;
    auto b = evalConst(*e.operands[1], what);
    if (!b)
      return std::nullopt;
    switch (e.op) {
    case '+': return *a + *b;
    case '-': return *a - *b;
    case '*': return *a * *b;
    default:
      if (*b == 0) {
        emitError(loc(e.loc)) << "division by zero in " << what;
        return std::nullopt;
      }
      return *a / *b;
    }
  }
  default:
    emitError(loc(e.loc)) << what << " must be a number";
    return std::nullopt;
  }
}

LogicalResult MLIRGenImpl::genConsts() {
  for (auto &c : ast.consts) {
    // Constants may use earlier constants and arithmetic only.
    auto v = evalConst(*c.value, "constant '" + c.name.text + "'");
    if (!v)
      return mlir::failure();
    if (!std::isfinite(*v))
      return failure(c.value->loc, "constant '" + c.name.text +
                                       "' is not a finite number");
    consts[c.name.text] = *v;
  }
  return success();
}

LogicalResult MLIRGenImpl::genData() {
  for (auto [i, d] : llvm::enumerate(ast.data)) {
    RankedTensorType type;
    DataKind kind = DataKind::real;
    std::optional<int64_t> classes;
    if (d.dtype.text == "f32") {
      type = batchedType(d.dims);
      if (d.vocab)
        return failure(d.name.loc, "'vocab' is only for tokens data");
    } else if (d.dtype.text == "label") {
      if (d.dims.size() != 1)
        return failure(d.dimsLoc, "labels have one dimension, the number of "
                                  "classes, as in label[10]");
      kind = DataKind::label;
      classes = d.dims[0];
      type = batchedType(d.dims);
    } else {
      if (d.dims.size() != 1)
        return failure(d.dimsLoc, "tokens have one dimension, the sequence "
                                  "length, as in tokens[8] vocab 32");
      if (!d.vocab)
        return failure(d.name.loc, "tokens data '" + d.name.text +
                                       "' needs a vocabulary size: tokens[" +
                                       std::to_string(d.dims[0]) + "] vocab N");
      kind = DataKind::tokens;
      classes = *d.vocab;
      type = batchedType(d.dims, builder.getI32Type());
    }
    auto op = builder.create<DataOp>(
        loc(d.name.loc), d.name.text, type, kind,
        classes ? builder.getI64IntegerAttr(*classes) : IntegerAttr(),
        d.source ? builder.getStringAttr(*d.source) : StringAttr());
    dataIndex[d.name.text] = i;
    dataOps.push_back(op);
  }
  return success();
}

std::optional<std::pair<InitKind, std::optional<double>>>
MLIRGenImpl::parseInit(const Expr &e) {
  if (e.kind == Kind::Ref) {
    std::optional<InitKind> kind = symbolizeInitKind(e.name);
    if (kind && *kind != InitKind::normal && *kind != InitKind::uniform)
      return std::make_pair(*kind, std::optional<double>());
  } else if (e.kind == Kind::Call && (e.name == "normal" || e.name == "uniform")) {
    if (e.args.size() != 1 || !e.args[0].key.text.empty() ||
        e.args[0].value->kind != Kind::Number || !(e.args[0].value->number > 0)) {
      emitError(loc(e.loc)) << "init " << e.name
                            << "(...) takes one positive number, its "
                            << (e.name == "normal" ? "standard deviation"
                                                   : "half-width");
      return std::nullopt;
    }
    return std::make_pair(*symbolizeInitKind(e.name),
                          std::optional<double>(e.args[0].value->number));
  }
  emitError(loc(e.loc)) << "unknown initialiser; expected zeros, ones, "
                           "glorot_uniform, kaiming_uniform, normal(std) or "
                           "uniform(bound)";
  return std::nullopt;
}

LogicalResult MLIRGenImpl::genModelParams() {
  for (auto &p : ast.params) {
    InitKind init = InitKind::zeros;
    std::optional<double> scale;
    if (p.init) {
      auto parsed = parseInit(*p.init);
      if (!parsed)
        return mlir::failure();
      std::tie(init, scale) = *parsed;
    }
    auto type = RankedTensorType::get(p.dims, f32());
    params[p.name.text] = builder.create<ParamOp>(
        loc(p.name.loc), p.name.text, type, init,
        scale ? builder.getF64FloatAttr(*scale) : FloatAttr(),
        /*slot_of=*/FlatSymbolRefAttr());
  }
  return success();
}

LogicalResult MLIRGenImpl::genProgressive() {
  for (auto &p : ast.progressives) {
    for (size_t i = 1; i < p.resolutions.size(); ++i)
      if (p.resolutions[i] != 2 * p.resolutions[i - 1])
        return failure(p.resolutionsLoc,
                       "resolutions must double at each stage, got " +
                           std::to_string(p.resolutions[i - 1]) + " then " +
                           std::to_string(p.resolutions[i]));
    schedule = builder.create<ProgressiveOp>(
        loc(p.name.loc), builder.getStringAttr(p.name.text),
        builder.getDenseI64ArrayAttr(p.resolutions),
        builder.getI64IntegerAttr(p.epochsPerStage),
        builder.getF64FloatAttr(p.fade));
  }
  return success();
}

std::string MLIRGenImpl::uniqueSymbol(StringRef base) {
  std::string name = base.str();
  for (int i = 1; symbols.contains(name); ++i)
    name = (base + Twine(i)).str();
  symbols.insert(name);
  return name;
}

//===----------------------------------------------------------------------===//

LogicalResult MLIRGenImpl::genObjectives() {
  for (auto &o : ast.objectives)
    if (!genObjective(o.name.text, *o.value, nullptr))
      return mlir::failure();
  return success();
}

ObjectiveOp MLIRGenImpl::genObjective(StringRef name, const Expr &value,
                                      const std::vector<::gm::Assign> *lets,
                                      bool scalarOnly) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&model.getBlock());
  auto keyType = KeyType::get(&ctx);
  auto op = builder.create<ObjectiveOp>(
      loc(value.loc), name, builder.getFunctionType({keyType}, {}));
  Block *entry = new Block();
  op.getBody().push_back(entry);
  FnCtx fn;
  fn.entry = entry;
  fn.key = entry->addArgument(keyType, loc(value.loc));
  fn.nextStream = latentStream.size();
  fn.lets = lets;
  fn.scopes.emplace_back();
  builder.setInsertionPointToEnd(entry);

  Val result;
  // `log p(x | z) - beta * kl(q || p)` is the ELBO: keep it as one op.
  auto isKL = [](const Expr &e) { return e.kind == Kind::KL; };
  const Expr *klExpr = nullptr, *betaExpr = nullptr;
  if (value.kind == Kind::Binary && value.op == '-' &&
      value.operands[0]->kind == Kind::LogProb) {
    const Expr &rhs = *value.operands[1];
    if (isKL(rhs)) {
      klExpr = &rhs;
    } else if (rhs.kind == Kind::Binary && rhs.op == '*') {
      if (isKL(*rhs.operands[1])) {
        klExpr = rhs.operands[1].get();
        betaExpr = rhs.operands[0].get();
      } else if (isKL(*rhs.operands[0])) {
        klExpr = rhs.operands[0].get();
        betaExpr = rhs.operands[1].get();
      }
    }
  }
  std::optional<double> beta = 1.0;
  if (betaExpr) {
    Val b = gen(*betaExpr, fn);
    beta = b && b.k == Val::K::Num ? std::optional<double>(b.num)
                                   : std::nullopt;
    if (!beta || *beta < 0)
      klExpr = nullptr; // not an ELBO: generate the arithmetic as written
  }
  if (klExpr) {
    Val ll = gen(*value.operands[0], fn);
    if (!ll) return nullptr;
    Val kl = gen(*klExpr, fn);
    if (!kl) return nullptr;
    result = Val::tensor(builder.create<ElboOp>(
        loc(value.loc), ll.value.getType(), ll.value, kl.value,
        builder.getF64FloatAttr(*beta)));
  } else {
    result = gen(value, fn);
    if (!result)
      return nullptr;
  }

  if (result.k == Val::K::Num)
    return emitError(loc(startLoc(value)))
               << "objective '" << name << "' is a constant",
           nullptr;
  if (result.k != Val::K::Tensor)
    return emitError(loc(startLoc(value)))
               << "objective '" << name
               << "' must be a number per example, not a "
               << (result.k == Val::K::Dist ? "distribution" : "tuple"),
           nullptr;
  auto type = cast<RankedTensorType>(result.value.getType());
  Value scalar = result.value;
  if (type.getRank() == 1 && isBatched(type)) {
    scalar = builder.create<MeanOp>(loc(startLoc(value)),
                                    RankedTensorType::get({}, f32()), scalar,
                                    builder.getDenseI64ArrayAttr({0}));
  } else if (type.getRank() != 0) {
    return emitError(loc(startLoc(value)))
               << "objective '" << name
               << "' must be a number per example, got shape "
               << describeShape(type) << "; reduce it with sum(...) or mean(...)",
           nullptr;
  }
  (void)scalarOnly;
  builder.create<ReturnOp>(loc(value.loc), ValueRange{scalar});

  SmallVector<Type> inputs;
  SmallVector<Attribute> refs;
  for (auto &[index, arg] : fn.dataArgs) {
    inputs.push_back(arg.getType());
    refs.push_back(FlatSymbolRefAttr::get(dataOps[index].getSymNameAttr()));
  }
  inputs.push_back(keyType);
  op.setFunctionType(builder.getFunctionType(
      inputs, {RankedTensorType::get({}, f32())}));
  op.setInputsAttr(builder.getArrayAttr(refs));
  objectives[name] = op;
  return op;
}

//===----------------------------------------------------------------------===//
// Training blocks and groups
//===----------------------------------------------------------------------===//

void MLIRGenImpl::collectParams(Operation *fn,
                                llvm::SetVector<StringAttr> &out) {
  fn->walk([&](Operation *op) {
    if (auto ref = dyn_cast<ParamRefOp>(op)) {
      // A running statistic is written by training steps, not trained.
      auto it = params.find(ref.getName().str());
      if (it == params.end() || !it->second.getStatistic())
        out.insert(ref.getNameAttr().getAttr());
    }
    else if (auto call = dyn_cast<CallOp>(op))
      if (NetOp net = netOps.lookup(call.getCallee()))
        collectParams(net, out);
  });
}

LogicalResult MLIRGenImpl::memberParams(const ::gm::Name &member,
                                        llvm::SetVector<StringAttr> &out,
                                        unsigned depth) {
  if (depth > 32)
    return failure(member.loc, "group '" + member.text +
                                   "' refers to itself");
  if (netDecls.count(member.text)) {
    NetOp net = netOps.lookup(member.text);
    if (!net)
      return failure(member.loc, "net '" + member.text +
                                     "' is never called, so it has no "
                                     "parameters to train");
    size_t before = out.size();
    collectParams(net, out);
    if (out.size() == before && before == 0)
      return failure(member.loc, "net '" + member.text +
                                     "' has no parameters");
    return success();
  }
  if (auto it = params.find(member.text); it != params.end()) {
    if (it->second.getStatistic())
      return failure(member.loc, "'" + member.text + "' is a running statistic of a "
                                 "batch norm, not a trainable parameter");
    out.insert(it->second.getSymNameAttr());
    return success();
  }
  if (auto it = groupDecls.find(member.text); it != groupDecls.end()) {
    for (const ::gm::Name &m : it->second->members)
      if (failed(memberParams(m, out, depth + 1)))
        return mlir::failure();
    return success();
  }
  return failure(member.loc, "unknown net, parameter or group '" +
                                 member.text + "'");
}

GroupOp MLIRGenImpl::makeGroup(StringRef name,
                               const llvm::SetVector<StringAttr> &ps,
                               ::gm::Loc l) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&model.getBlock());
  SmallVector<Attribute> refs;
  for (StringAttr p : ps)
    refs.push_back(FlatSymbolRefAttr::get(p));
  return builder.create<GroupOp>(loc(l), name, builder.getArrayAttr(refs));
}

std::optional<OptimizerAttr> MLIRGenImpl::genOptimizer(const Expr &e) {
  if (e.kind != Kind::Call || (e.name != "adam" && e.name != "sgd")) {
    emitError(loc(e.loc)) << "expected an optimizer, adam(...) or sgd(...)";
    return std::nullopt;
  }
  bool adam = e.name == "adam";
  std::vector<std::pair<const char *, double>> hp;
  if (adam)
    hp = {{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}};
  else
    hp = {{"lr", 1e-2}, {"momentum", 0.0}};
  std::optional<double> clip;
  for (const ::gm::Arg &a : e.args) {
    if (a.key.text.empty()) {
      emitError(loc(a.value->loc))
          << "optimizer arguments are named, as in " << e.name << "(lr = 1e-3)";
      return std::nullopt;
    }
    if (a.key.text == "clip") {
      // Weight clipping (a Wasserstein critic): not a run-time argument.
      auto folded = evalConst(*a.value, "hyper-parameter 'clip'");
      if (!folded)
        return std::nullopt;
      if (!(*folded > 0)) {
        emitError(loc(a.value->loc)) << "hyper-parameter 'clip' must be positive, got "
                                     << fmtNum(*folded);
        return std::nullopt;
      }
      clip = *folded;
      continue;
    }
    auto it = llvm::find_if(hp, [&](auto &kv) { return a.key.text == kv.first; });
    if (it == hp.end()) {
      emitError(loc(a.key.loc)) << "unknown hyper-parameter '" << a.key.text
                                << "' for " << e.name << "; expected "
                                << (adam ? "lr, beta1, beta2, eps or clip"
                                         : "lr, momentum or clip");
      return std::nullopt;
    }
    auto folded = evalConst(*a.value, "hyper-parameter '" + a.key.text + "'");
    if (!folded)
      return std::nullopt;
    double v = *folded;
    bool ok = it->first == StringRef("lr") || it->first == StringRef("eps")
                  ? v > 0
                  : v >= 0 && v < 1;
    if (!ok) {
      emitError(loc(a.value->loc))
          << "hyper-parameter '" << a.key.text << "' must be "
          << (it->first == StringRef("lr") || it->first == StringRef("eps")
                  ? "positive"
                  : "in [0, 1)")
          << ", got " << fmtNum(v);
      return std::nullopt;
    }
    it->second = v;
  }
  SmallVector<NamedAttribute> attrs;
  for (auto &[k, v] : hp)
    attrs.push_back(builder.getNamedAttr(k, builder.getF64FloatAttr(v)));
  if (clip)
    attrs.push_back(builder.getNamedAttr("clip", builder.getF64FloatAttr(*clip)));
  return OptimizerAttr::get(&ctx,
                            adam ? OptimizerKind::adam : OptimizerKind::sgd,
                            builder.getDictionaryAttr(attrs));
}

LogicalResult MLIRGenImpl::genGroups() {
  for (auto &g : ast.groups) {
    llvm::SetVector<StringAttr> ps;
    for (const ::gm::Name &m : g.members)
      if (failed(memberParams(m, ps)))
        return mlir::failure();
    groupOps[g.name.text] = makeGroup(g.name.text, ps, g.name.loc);
  }
  return success();
}

LogicalResult MLIRGenImpl::genTrains() {
  for (auto &t : ast.trains) {
    ObjectiveOp obj = objectives.lookup(t.objective.text);
    if (!obj)
      return failure(t.objective.loc,
                     "unknown objective '" + t.objective.text + "'");
    auto opt = genOptimizer(*t.optimizer);
    if (!opt)
      return mlir::failure();
    std::string name =
        t.name.text.empty() ? uniqueSymbol("train") : t.name.text;
    llvm::SetVector<StringAttr> ps;
    if (t.over.empty()) {
      collectParams(obj, ps);
      if (ps.empty())
        return failure(t.objective.loc, "objective '" + t.objective.text +
                                            "' depends on no parameters");
    }
    for (const ::gm::Name &m : t.over)
      if (failed(memberParams(m, ps)))
        return mlir::failure();
    GroupOp group = makeGroup(uniqueSymbol(name + ".params"), ps, t.loc);
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(&model.getBlock());
    builder.create<StepOp>(
        loc(t.loc), name, t.maximize ? Direction::maximize : Direction::minimize,
        obj.getSymName(),
        builder.getArrayAttr({FlatSymbolRefAttr::get(group.getSymNameAttr())}),
        *opt, t.batch ? builder.getI64IntegerAttr(*t.batch) : IntegerAttr());
  }
  return success();
}

LogicalResult MLIRGenImpl::genMinimaxes() {
  for (auto &m : ast.minimaxes) {
    // A zero-sum value (gan() terms or any other, a Wasserstein critic's),
    // or a loss per player; the parser made sure it is one or the other.
    ObjectiveOp value;
    if (m.value &&
        !(value = genObjective(uniqueSymbol(m.name.text + ".value"), *m.value, &m.lets)))
      return mlir::failure();
    // A player's own loss (no value) or the extra term added to the
    // value's: the parser allows one of the two per player.
    auto lossOf = [&](const ::gm::ExprPtr &own, const ::gm::ExprPtr &extra, StringRef suffix,
                      ObjectiveOp &out) -> LogicalResult {
      const ::gm::ExprPtr &e = own ? own : extra;
      if (!e)
        return success();
      out = genObjective(uniqueSymbol(m.name.text + suffix.str()), *e, &m.lets);
      return success(out != nullptr);
    };
    ObjectiveOp discExtra, genExtra;
    if (failed(lossOf(m.discLoss, m.discExtra, m.discLoss ? ".disc_loss" : ".disc_extra",
                      discExtra)) ||
        failed(lossOf(m.genLossExpr, m.genExtra, m.genLossExpr ? ".gen_loss" : ".gen_extra",
                      genExtra)))
      return mlir::failure();

    llvm::SetVector<StringAttr> disc, gen;
    for (const ::gm::Name &n : m.discriminator)
      if (failed(memberParams(n, disc)))
        return mlir::failure();
    for (const ::gm::Name &n : m.generator)
      if (failed(memberParams(n, gen)))
        return mlir::failure();
    for (StringAttr p : gen)
      if (disc.contains(p))
        return failure(m.genLoc, "parameter '" + p.getValue().str() +
                                     "' is trained by both the discriminator "
                                     "and the generator of minimax '" +
                                     m.name.text + "'");
    auto discOpt = genOptimizer(*m.discOptimizer);
    if (!discOpt)
      return mlir::failure();
    auto genOpt = genOptimizer(*m.genOptimizer);
    if (!genOpt)
      return mlir::failure();
    GroupOp dg = makeGroup(uniqueSymbol(m.name.text + ".discriminator"), disc,
                           m.discLoc);
    GroupOp gg =
        makeGroup(uniqueSymbol(m.name.text + ".generator"), gen, m.genLoc);
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(&model.getBlock());
    GenLoss genLoss = m.genLoss.text == "saturating" ? GenLoss::saturating
                                                     : GenLoss::non_saturating;
    builder.create<MinimaxOp>(
        loc(m.name.loc), builder.getStringAttr(m.name.text),
        value ? FlatSymbolRefAttr::get(value.getSymNameAttr()) : FlatSymbolRefAttr(),
        builder.getArrayAttr({FlatSymbolRefAttr::get(dg.getSymNameAttr())}),
        *discOpt,
        builder.getArrayAttr({FlatSymbolRefAttr::get(gg.getSymNameAttr())}),
        *genOpt, GenLossAttr::get(&ctx, genLoss),
        builder.getI64IntegerAttr(m.k.value_or(1)),
        discExtra ? FlatSymbolRefAttr::get(discExtra.getSymNameAttr())
                  : FlatSymbolRefAttr(),
        genExtra ? FlatSymbolRefAttr::get(genExtra.getSymNameAttr())
                 : FlatSymbolRefAttr(),
        m.batch ? builder.getI64IntegerAttr(*m.batch) : IntegerAttr());
  }
  return success();
}

void MLIRGenImpl::reorder() {
  // Declarations first, then code, then how it is trained, with nets and
  // their parameters in the order the .gm file declares the nets, and the
  // training blocks in theirs: the order a reader wants, whatever order
  // generation created them in.
  Block &block = model.getBlock();
  llvm::StringMap<int> netIndex;
  for (auto [i, n] : llvm::enumerate(ast.nets))
    netIndex[n.name.text] = i;
  auto key = [&](Operation *op) -> std::pair<int, int> {
    if (isa<DataOp>(op)) return {0, 0};
    if (auto p = dyn_cast<ParamOp>(op)) {
      // Layer parameters are named <net>.<layer>.<suffix>.
      StringRef net = p.getSymName().split('.').first;
      auto it = netIndex.find(net);
      return {1, p.getSymName().contains('.') && it != netIndex.end()
                     ? it->second : -1};
    }
    if (isa<GroupOp>(op)) return {2, 0};
    if (isa<ProgressiveOp>(op)) return {3, 0};
    if (auto n = dyn_cast<NetOp>(op)) return {4, netIndex.lookup(n.getSymName())};
    if (isa<ObjectiveOp>(op)) return {5, 0};
    // Training blocks in the order the file declares them: the order gmrun
    // runs them in, batch after batch.
    if (auto at = dyn_cast<FileLineColLoc>(op->getLoc()))
      return {6, (int)(at.getLine() * 4096 + at.getColumn())};
    return {6, 0};
  };
  std::vector<Operation *> ops;
  for (Operation &op : block)
    ops.push_back(&op);
  std::stable_sort(ops.begin(), ops.end(), [&](Operation *a, Operation *b) {
    return key(a) < key(b);
  });
  for (Operation *op : ops)
    op->moveBefore(&block, block.end());
}

//===----------------------------------------------------------------------===//
// Value helpers
//===----------------------------------------------------------------------===//


namespace gm {
OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const ModelAST &model,
                              StringRef filename) {
  return MLIRGenImpl(context, model, filename).generate();
}
} // namespace gm
