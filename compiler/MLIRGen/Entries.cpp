//===- Entries.cpp - the inference entries, derived by rule ---------------===//
//
// encode, decode, generate, sample, classify, features, translate and
// prior are what gmrun runs to encode, decode, sample, traverse, translate,
// score and measure sample quality. Each is derived from the declarations
// by one rule, decided on the syntax tree before anything is built:
//
//   @encode.<z>    posterior q(z | c...) with every c a data input and a
//                  distribution that has a mean (normal, normal_logvar,
//                  bernoulli_logits): q's mean, as a function of the data.
//                  Or, in an adversarial autoencoder, a minimax whose value
//                  is gan(D(sample(p(z))), D(E)) with E reading data only
//                  (no latent, distribution or sample): E.
//   @decode.<x>    likelihood p(x | z) over a data input x, with one
//                  condition z that is a latent whose prior declares its
//                  shape (`: [20]`), and a distribution that has a mean:
//                  the mean of p(x | z), as a function of z. When z's
//                  prior is conditioned on one latent (p(z1 | z2) p(z2)),
//                  the chain of priors is followed to its root, which the
//                  entry takes; the latents below it are drawn from their
//                  priors inside the entry.
//   @sample.<x>    likelihood p(x) over a data input x with no condition, a
//                  bernoulli_logits or discretized_logistic whose
//                  parameters read only x (no other data, latent or
//                  distribution): x sampled value by value (gm.ar_sample)
//                  from uniforms of x's shape.
//   @classify.<y> likelihood categorical_logits(...) over label data y,
//                  conditioned on data only (a classifier): its logits.
//   @features.<y> the same, when the logits are one net's output ending
//                  in linear(h, ...): h, the yardstick's features.
//   @translate.<x>.<y>  a term gan(D(y...), D(G)) of a minimax's value
//                  (a side may be named by an assignment) whose real side
//                  reads one data input y only and whose fake side G one
//                  data input x only: G, a map from domain x to domain y
//                  (CycleGAN; x may be y: Puzzle-GAN's completion). A G that
//                  also reads categories (uniform categorical priors) takes
//                  them as `codes`: @translate.<x>.<category> (StarGAN).
//                  Or an objective bce_logits/mse/l1(P, x) whose prediction
//                  P reads image data x only: the reconstruction,
//                  @translate.<x>.<x> (an autoencoder).
//                  Or, in an adversarial autoencoder, an objective
//                  bce_logits/mse/l1(N(E), x) whose net N reads the encoder
//                  E of its game: N (sigmoid(N) for logits) as a function
//                  of z.
//   @prior.<z>     an unconditioned prior p(z) with a shape, of a latent
//                  that has an @encode.<z>: log p(z) at given z, what the
//                  codes are held against.
//   @draw.<z>      an unconditioned prior p(z) with a shape, other than
//                  normal(0, 1), of a latent a @decode takes: draws of z,
//                  as many as its argument's rows.
//   @generate.<z>  minimax whose value is gan(D(real...), D(fake, ...)),
//                  or else whose value or player losses call a
//                  discriminator net D(fake, ...), where fake (through the
//                  block's lets) reads latents whose priors declare their
//                  shapes, no images, distribution or sample: fake, as a
//                  function of z, the first of them with a standard normal
//                  prior. The others whose priors a host can draw
//                  (normal(0, 1), categorical_logits(c)) are `codes` it
//                  takes (InfoGAN's category); the rest are drawn inside
//                  from their priors. Labels and captions fake reads are
//                  data the entry takes (text-to-image).
//
// The first declaration that qualifies names the entry. A model that
// qualifies and then fails to build is a compile error at the declaration,
// never a silently missing entry: diagnostics are not suppressed here.
// docs/language.md lists these rules for users.
//
//===----------------------------------------------------------------------===//

#include "compiler/MLIRGen/Impl.h"

#include "mlir/IR/IRMapping.h"

#include <map>
#include <set>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::mlirgen;
using ::gm::Expr;
using Kind = ::gm::Expr::Kind;
using Role = ::gm::DistDecl::Role;

namespace {

/// The mean of a distribution value: a normal's location, a Bernoulli's
/// probabilities. hasMean() says which constructors give one.
Value distMean(OpBuilder &b, Value dist) {
  Operation *def = dist.getDefiningOp();
  if (auto n = dyn_cast_or_null<NormalOp>(def))
    return n.getLoc();
  if (auto bern = dyn_cast_or_null<BernoulliOp>(def))
    return b.create<SigmoidOp>(def->getLoc(), bern.getLogits());
  return {};
}

bool hasMean(const ::gm::DistDecl &d) {
  const std::string &ctor = d.dist->name;
  return ctor == "normal" || ctor == "normal_logvar" || ctor == "bernoulli_logits";
}

/// `normal(0, 1)`, written with literal numbers.
bool isStandardNormal(const ::gm::DistDecl &d) {
  const Expr &call = *d.dist;
  auto is = [&](unsigned i, double v) {
    return call.args[i].value->kind == Kind::Number && call.args[i].value->number == v;
  };
  return call.name == "normal" && call.args.size() == 2 && is(0, 0) && is(1, 1);
}

/// `categorical_logits(c)` with a literal c: every class equally likely.
bool isUniformCategorical(const ::gm::DistDecl &d) {
  const Expr &call = *d.dist;
  return call.name == "categorical_logits" && call.args.size() == 1 &&
         call.args[0].value->kind == Kind::Number;
}

/// Whether |a| and |b| are the same expression, written the same way
/// (locations aside).
bool sameExpr(const Expr &a, const Expr &b) {
  if (a.kind != b.kind || a.name != b.name || a.var.text != b.var.text || a.op != b.op ||
      a.number != b.number || a.args.size() != b.args.size() ||
      a.operands.size() != b.operands.size())
    return false;
  for (auto [x, y] : llvm::zip(a.args, b.args))
    if (x.key.text != y.key.text || !sameExpr(*x.value, *y.value))
      return false;
  for (auto [x, y] : llvm::zip(a.operands, b.operands))
    if (!sameExpr(*x, *y))
      return false;
  return true;
}

} // namespace

/// What an expression reads: data inputs and latents by name (through the
/// lets it names), and whether it names a distribution or draws a sample.
namespace gm::mlirgen {
struct Reads {
  std::set<std::string> data, latents;
  bool stochastic = false;
};
} // namespace gm::mlirgen

void MLIRGenImpl::collectReads(const Expr &e, const std::vector<::gm::Assign> *lets,
                               Reads &out, llvm::StringSet<> &visited) const {
  switch (e.kind) {
  case Kind::Dist:
  case Kind::LogProb:
  case Kind::KL:
  case Kind::Sample:
    out.stochastic = true;
    return;
  case Kind::Ref:
    if (lets)
      for (const ::gm::Assign &a : *lets)
        if (llvm::any_of(a.targets, [&](const ::gm::Name &t) { return t.text == e.name; })) {
          if (visited.insert(e.name).second)
            collectReads(*a.value, lets, out, visited);
          return;
        }
    if (dataIndex.count(e.name))
      out.data.insert(e.name);
    else if (latentVars.contains(e.name))
      out.latents.insert(e.name);
    return;
  case Kind::Call:
    if (distNames.contains(e.name))
      out.stochastic = true;
    break;
  default:
    break;
  }
  for (const ::gm::ExprPtr &o : e.operands)
    if (o)
      collectReads(*o, lets, out, visited);
  for (const ::gm::Arg &a : e.args)
    if (a.value)
      collectReads(*a.value, lets, out, visited);
}

/// A gm.func @|name| whose body |body| builds (the key is the last argument).
/// Null when |body| fails: it has reported the error at the .gm source (gmc
/// prints the first error; the second names the entry, for other drivers).
FuncOp MLIRGenImpl::genInferenceFn(StringRef name, FuncRole role, StringRef latent,
                                   ::gm::Loc at, StringRef from,
                                   function_ref<Value(FnCtx &)> body) {
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
    emitError(loc(at)) << "cannot build @" << name << ", which gmrun derives from " << from;
    return nullptr;
  }
  builder.create<ReturnOp>(loc(at), ValueRange{result});
  SmallVector<Attribute> refs;
  for (auto &[index, arg] : ctxFn.dataArgs)
    refs.push_back(FlatSymbolRefAttr::get(dataOps[index].getSymNameAttr()));
  fn.setFunctionType(builder.getFunctionType(entry->getArgumentTypes(), {result.getType()}));
  fn.setInputsAttr(builder.getArrayAttr(refs));
  fn.setRole(role);
  if (!latent.empty())
    fn.setLatent(latent);
  return fn;
}

LogicalResult MLIRGenImpl::genInference() {
  auto taken = [&](const std::string &name) {
    return SymbolTable::lookupSymbolIn(model, name) != nullptr;
  };
  auto priorWithShape = [&](const std::string &z) -> const ::gm::DistDecl * {
    const ::gm::DistDecl *prior = findRole(Role::Prior, z);
    return prior && prior->dims ? prior : nullptr;
  };
  for (const ::gm::DistDecl &d : ast.dists) {
    bool dataOnly = !d.conds.empty() && llvm::all_of(d.conds, [&](const ::gm::Name &c) {
      return dataIndex.count(c.text) > 0;
    });
    // encode: the posterior's mean given the data.
    if (d.role == Role::Posterior && dataOnly && hasMean(d) &&
        latentVars.contains(d.var.text) && !taken("encode." + d.var.text)) {
      FuncOp fn = genInferenceFn("encode." + d.var.text, FuncRole::encode, d.var.text, d.loc,
                                 "this posterior", [&](FnCtx &fn) -> Value {
        Val v = genDistDecl(d, fn, {}, true);
        return v ? distMean(builder, v.value) : Value();
      });
      if (!fn)
        return mlir::failure();
    }
    // decode: the likelihood's mean given its one latent.
    if (d.role != Role::Likelihood || d.conds.size() != 1 || !dataIndex.count(d.var.text) ||
        !hasMean(d) || taken("decode." + d.var.text))
      continue;
    // Through a hierarchy of priors (p(z1 | z2) p(z2)) to its root, which
    // the entry takes; the latents below the root are drawn from their
    // priors inside the entry, ancestrally, with the entry's key.
    std::vector<std::string> chain = {d.conds[0].text};
    while (latentVars.contains(chain.back())) {
      const ::gm::DistDecl *p = findRole(Role::Prior, chain.back());
      if (!p || p->conds.size() != 1 || !latentVars.contains(p->conds[0].text) ||
          llvm::is_contained(chain, p->conds[0].text))
        break;
      chain.push_back(p->conds[0].text);
    }
    const std::string &z = chain.back();
    const ::gm::DistDecl *prior = latentVars.contains(z) ? priorWithShape(z) : nullptr;
    if (!prior)
      continue;
    FuncOp fn = genInferenceFn("decode." + d.var.text, FuncRole::decode, z, d.loc,
                               "this likelihood", [&](FnCtx &fn) -> Value {
      Value arg = fn.entry->insertArgument(0u, batchedType(*prior->dims), loc(d.loc));
      fn.latents[z] = arg;
      for (size_t i = chain.size() - 1; i-- > 0;) {
        const ::gm::DistDecl *below = findRole(Role::Prior, chain[i]);
        Val pd = genDistDecl(*below, fn, {}, true);
        if (!pd)
          return Value();
        fn.latents[chain[i]] = sample(pd, fn, below->loc, latentStream.lookup(chain[i]));
      }
      Val v = genDistDecl(d, fn, {}, true);
      return v ? distMean(builder, v.value) : Value();
    });
    if (!fn)
      return mlir::failure();
    // gmrun samples the prior itself when it is a standard normal.
    fn.setStandardPrior(isStandardNormal(*prior));
  }
  // sample: an autoregressive (or independent) Bernoulli or discretised-
  // logistic likelihood p(x) of a data input, conditioned on nothing, whose
  // parameters read no data but x, no latent and no other distribution: x
  // drawn value by value from uniforms the host draws (gm.ar_sample).
  for (const ::gm::DistDecl &d : ast.dists) {
    if (d.role != Role::Likelihood || !d.conds.empty() || !dataIndex.count(d.var.text) ||
        (d.dist->name != "bernoulli_logits" && d.dist->name != "discretized_logistic") ||
        taken("sample." + d.var.text))
      continue;
    Reads reads;
    llvm::StringSet<> visited;
    for (const ::gm::Arg &a : d.dist->args)
      if (a.value)
        collectReads(*a.value, nullptr, reads, visited);
    if (reads.stochastic || !reads.latents.empty() ||
        llvm::any_of(reads.data, [&](const std::string &n) { return n != d.var.text; }))
      continue;
    unsigned xi = dataIndex.lookup(d.var.text);
    Type xt = dataOps[xi].getType();
    FuncOp fn = genInferenceFn("sample." + d.var.text, FuncRole::sample, "uniforms", d.loc,
                               "this likelihood", [&](FnCtx &fn) -> Value {
      Location at = loc(d.loc);
      Value u = fn.entry->insertArgument(0u, xt, at);
      fn.batchSize = builder.create<BatchSizeOp>(at, u);
      auto op = builder.create<ArSampleOp>(at, xt, u);
      OpBuilder::InsertionGuard guard(builder);
      Block *body = builder.createBlock(&op.getBody(), {}, {xt}, {at});
      // Inside the region, x is the partial sample.
      fn.dataArgs.push_back({xi, body->getArgument(0)});
      ++fn.regionDepth;
      Val v = genDistDecl(d, fn, {}, true);
      --fn.regionDepth;
      fn.dataArgs.clear();
      Operation *def = v ? v.value.getDefiningOp() : nullptr;
      if (auto bern = dyn_cast_or_null<BernoulliOp>(def)) {
        builder.create<YieldOp>(at, ValueRange{bern.getLogits()});
      } else if (auto dl = dyn_cast_or_null<DiscretizedLogisticOp>(def)) {
        op.setLevels(dl.getLevels());
        builder.create<YieldOp>(at, ValueRange{dl.getLoc(), dl.getLogScale()});
      } else {
        return Value();
      }
      return op.getResult();
    });
    if (!fn)
      return mlir::failure();
  }
  // classify and features: a classifier, a categorical likelihood p(y | x...)
  // over label data conditioned on data only. classify returns its logits;
  // features the activations its last linear layer reads (the logits net's
  // body cloned in, so the value inside it can be returned): what gmrun fid
  // compares.
  for (const ::gm::DistDecl &d : ast.dists) {
    if (d.role != Role::Likelihood || d.conds.empty() || d.dist->name != "categorical_logits" ||
        !dataIndex.count(d.var.text) ||
        dataOps[dataIndex.lookup(d.var.text)].getKind() != DataKind::label ||
        !llvm::all_of(d.conds, [&](const ::gm::Name &c) { return dataIndex.count(c.text) > 0; }) ||
        taken("classify." + d.var.text))
      continue;
    auto logitsOf = [&](FnCtx &fn) -> Value {
      Val v = genDistDecl(d, fn, {}, true);
      auto cat = v ? v.value.getDefiningOp<CategoricalOp>() : CategoricalOp();
      return cat ? cat.getLogits() : Value();
    };
    if (!genInferenceFn("classify." + d.var.text, FuncRole::classify, "", d.loc,
                        "this classifier", logitsOf))
      return mlir::failure();
    // features needs the logits to be one net's output, a linear layer.
    const Expr *logitsExpr = d.dist->args.size() == 1 ? d.dist->args[0].value.get() : nullptr;
    auto netIt = logitsExpr && logitsExpr->kind == Kind::Call ? netDecls.find(logitsExpr->name)
                                                             : netDecls.end();
    if (netIt == netDecls.end() || netIt->second->results.size() != 1 ||
        netIt->second->results[0]->kind != Kind::Call ||
        netIt->second->results[0]->name != "linear" || taken("features." + d.var.text))
      continue;
    FuncOp features = genInferenceFn(
        "features." + d.var.text, FuncRole::features, "", d.loc, "this classifier",
        [&](FnCtx &fn) -> Value {
          Value logits = logitsOf(fn);
          auto call = logits ? logits.getDefiningOp<CallOp>() : CallOp();
          auto net = call ? SymbolTable::lookupNearestSymbolFrom<NetOp>(call, call.getCalleeAttr())
                          : NetOp();
          if (!net)
            return Value();
          // The net's body cloned in, so the value its last layer reads can
          // be returned; the call itself is then unused.
          IRMapping map;
          Block &body = net.getBody().front();
          map.map(body.getArguments(), call.getOperands());
          for (Operation &op : body.without_terminator())
            builder.clone(op, map);
          Value out = map.lookupOrDefault(body.getTerminator()->getOperand(0));
          auto last = out.getDefiningOp<LinearOp>();
          if (!last)
            return Value();
          Value h = last.getInput();
          last.erase();
          // The categorical made of the logits goes with the call.
          for (Operation *user : llvm::make_early_inc_range(call->getUsers()))
            user->erase();
          call.erase();
          return h;
        });
    if (!features)
      return mlir::failure();
  }

  // The argument of a net call (D(x) -> x), or null.
  auto netArg = [&](const Expr &call) -> const Expr * {
    if (call.kind != Kind::Call || !netDecls.count(call.name) || call.args.empty())
      return nullptr;
    return call.args[0].value.get();
  };
  // Each latent an adversarial autoencoder's game encodes, and its encoder.
  std::vector<std::pair<std::string, const Expr *>> encoders;
  // encode, for an adversarial autoencoder: a game gan(D(sample(p(z))),
  // D(E)) whose real side draws a latent z from its prior (shape declared)
  // and whose fake side E reads data only: E is z's encoder.
  for (const ::gm::MinimaxDecl &m : ast.minimaxes) {
    const Expr *v = m.value.get();
    if (!v || v->kind != Kind::Call || v->name != "gan" || v->args.size() != 2)
      continue;
    const Expr *real = netArg(*v->args[0].value), *fake = netArg(*v->args[1].value);
    if (!real || !fake || real->kind != Kind::Sample || real->operands.size() != 1 ||
        real->operands[0]->kind != Kind::Dist || !real->operands[0]->operands.empty())
      continue;
    std::string z = real->operands[0]->var.text;
    if (!latentVars.contains(z) || !priorWithShape(z) || taken("encode." + z))
      continue;
    Reads reads;
    llvm::StringSet<> visited;
    collectReads(*fake, &m.lets, reads, visited);
    if (reads.stochastic || reads.data.empty() || !reads.latents.empty())
      continue;
    FuncOp fn = genInferenceFn("encode." + z, FuncRole::encode, z, m.valueLoc,
                               "the fake side of this game", [&](FnCtx &fn) -> Value {
      fn.lets = &m.lets;
      Val r = gen(*fake, fn);
      return r ? asTensor(r, fake->loc, "the encoder's output") : Value();
    });
    if (!fn)
      return mlir::failure();
    encoders.push_back({z, fake});
  }

  // Unconditioned prior |d| in an entry over a batch of its latent's shape:
  // the argument, whose rows are the batch, and the distribution.
  auto priorOverRows = [&](const ::gm::DistDecl &d, FnCtx &fn) -> std::pair<Value, Val> {
    Location at = loc(d.loc);
    Value rows = fn.entry->insertArgument(0u, batchedType(*d.dims), at);
    fn.batchSize = builder.create<BatchSizeOp>(at, rows);
    return {rows, genDistDecl(d, fn, {}, true)};
  };
  // prior: log p(z) at values of a latent that has an encoder and an
  // unconditioned prior of known shape, so a host can hold the codes the
  // encoder computes against the density they should follow (gmrun encode
  // draws an adversarial autoencoder's codes over its mixture prior).
  for (const ::gm::DistDecl &d : ast.dists) {
    const std::string &z = d.var.text;
    if (d.role != Role::Prior || !d.conds.empty() || !d.dims || !taken("encode." + z) ||
        taken("prior." + z))
      continue;
    FuncOp fn = genInferenceFn("prior." + z, FuncRole::prior, z, d.loc, "this prior",
                               [&](FnCtx &fn) -> Value {
      auto [values, p] = priorOverRows(d, fn);
      return p ? builder.create<LogProbOp>(loc(d.loc), batchedType({}), p.value, values).getResult()
               : Value();
    });
    if (!fn)
      return mlir::failure();
    fn.setStandardPrior(isStandardNormal(d));
  }

  // A reconstruction objective bce_logits/mse/l1(P, x) of image data x: P,
  // x, and the entries' image of a prediction (sigmoid(P) for logits).
  struct Reconstruction {
    const Expr *pred = nullptr, *target = nullptr;
    bool logits = false;
    Value image(OpBuilder &b, Location at, Value p) const {
      return p && logits ? b.create<SigmoidOp>(at, p).getResult() : p;
    }
  };
  auto reconstruction = [&](const ::gm::ObjectiveDecl &o) -> std::optional<Reconstruction> {
    const Expr *e = o.value.get();
    if (!e || e->kind != Kind::Call || e->args.size() != 2 ||
        (e->name != "bce_logits" && e->name != "mse" && e->name != "l1"))
      return std::nullopt;
    const Expr &target = *e->args[1].value;
    if (target.kind != Kind::Ref || !dataIndex.count(target.name) ||
        dataOps[dataIndex.lookup(target.name)].getKind() != DataKind::real)
      return std::nullopt;
    return Reconstruction{e->args[0].value.get(), &target, e->name == "bce_logits"};
  };

  // decode, for an adversarial autoencoder: a reconstruction objective
  // bce_logits/mse/l1(N(E), x) whose net N reads E, the encoder of a game
  // above (written the same way): N as a function of z, sigmoid(N(z)) for
  // logits. The decoder of the codes, as a likelihood's mean is a VAE's.
  for (const ::gm::ObjectiveDecl &o : ast.objectives) {
    std::optional<Reconstruction> rec = reconstruction(o);
    if (!rec)
      continue;
    const Expr &pred = *rec->pred, &target = *rec->target;
    const Expr *code = netArg(pred);
    if (!code || pred.args.size() != 1 || taken("decode." + target.name))
      continue;
    auto enc = llvm::find_if(encoders, [&](auto &p) { return sameExpr(*p.second, *code); });
    if (enc == encoders.end())
      continue;
    const std::string z = enc->first;
    const ::gm::DistDecl *prior = priorWithShape(z);
    FuncOp fn = genInferenceFn("decode." + target.name, FuncRole::decode, z, o.value->loc,
                               "this reconstruction objective", [&](FnCtx &fn) -> Value {
      fn.latents[z] = fn.entry->insertArgument(0u, batchedType(*prior->dims), loc(pred.loc));
      // N(z): the objective's call with z for its argument.
      Expr call(Kind::Call, pred.loc);
      call.name = pred.name;
      ::gm::Arg arg;
      arg.value = std::make_unique<Expr>(Kind::Ref, code->loc);
      arg.value->name = z;
      call.args.push_back(std::move(arg));
      Val r = gen(call, fn);
      return rec->image(builder, loc(pred.loc),
                        r ? asTensor(r, pred.loc, "the decoder's output") : Value());
    });
    if (!fn)
      return mlir::failure();
    fn.setStandardPrior(isStandardNormal(*prior));
  }

  // draw: an unconditioned prior of known shape that gmrun cannot draw
  // itself (anything but normal(0, 1)), of a latent a decoder takes:
  // draws of z from it, in the generated code (the distribution's own
  // sampler), so gmrun samples the decoder through it (an adversarial
  // autoencoder's mixture). An entry's batch comes from a tensor: as many
  // draws as the argument has rows; its values are not read.
  for (const ::gm::DistDecl &d : ast.dists) {
    const std::string &z = d.var.text;
    if (d.role != Role::Prior || !d.conds.empty() || !d.dims || isStandardNormal(d) ||
        taken("draw." + z) || llvm::none_of(model.getBlock().getOps<FuncOp>(), [&](FuncOp f) {
          return f.getRole() == FuncRole::decode && f.getLatent() == StringRef(z);
        }))
      continue;
    FuncOp fn = genInferenceFn("draw." + z, FuncRole::draw, z, d.loc, "this prior",
                               [&](FnCtx &fn) -> Value {
      Val p = priorOverRows(d, fn).second;
      return p ? sample(p, fn, d.loc, latentStream.lookup(z)) : Value();
    });
    if (!fn)
      return mlir::failure();
  }

  // A name an assignment of game |m| binds (`fake_src, fake_cls = D(fake)`)
  // stands for that assignment's call.
  auto throughLets = [&](const ::gm::MinimaxDecl &m, const Expr *e) {
    // At most one step per assignment: a cycle ends.
    size_t steps = 0;
    for (bool renamed = true; renamed && e && e->kind == Kind::Ref && steps++ <= m.lets.size();) {
      renamed = false;
      for (const ::gm::Assign &let : m.lets)
        if (llvm::any_of(let.targets, [&](const ::gm::Name &t) { return t.text == e->name; })) {
          e = let.value.get();
          renamed = true;
          break;
        }
    }
    return e;
  };
  // The prior of latent |z| when a host can draw it, so an entry may take
  // z as a code a user sets: "standard_normal" or "uniform_categorical".
  auto codePrior = [&](const std::string &z) -> StringRef {
    const ::gm::DistDecl *p = priorWithShape(z);
    if (!p || !p->conds.empty())
      return "";
    return isStandardNormal(*p)      ? "standard_normal"
           : isUniformCategorical(*p) ? "uniform_categorical"
                                      : "";
  };
  // Codes by name: the order of their arguments and of the attribute.
  using Codes = std::map<std::string, StringRef>;
  auto takeCodes = [&](FnCtx &fn, const Codes &codes, unsigned at, ::gm::Loc l) {
    for (auto &[code, kind] : codes)
      fn.latents[code] =
          fn.entry->insertArgument(at++, batchedType(*priorWithShape(code)->dims), loc(l));
  };
  auto setCodes = [&](FuncOp fn, const Codes &codes) {
    if (codes.empty())
      return;
    SmallVector<NamedAttribute> attrs;
    for (auto &[code, kind] : codes)
      attrs.push_back(builder.getNamedAttr(code, builder.getStringAttr(kind)));
    fn.setCodesAttr(builder.getDictionaryAttr(attrs));
  };

  // translate, for an autoencoder: an objective `bce_logits(P, x)`,
  // `mse(P, x)` or `l1(P, x)` whose target is image data x and whose
  // prediction P reads x only (no latent or sample): the reconstruction,
  // sigmoid(P) for logits, @translate.<x>.<x> (gmrun translate shows the
  // test images above their reconstructions).
  for (const ::gm::ObjectiveDecl &o : ast.objectives) {
    std::optional<Reconstruction> rec = reconstruction(o);
    if (!rec)
      continue;
    const Expr &pred = *rec->pred, &target = *rec->target;
    Reads reads;
    llvm::StringSet<> visited;
    collectReads(pred, nullptr, reads, visited);
    std::string name = "translate." + target.name + "." + target.name;
    if (reads.stochastic || !reads.latents.empty() || reads.data.size() != 1 ||
        !reads.data.count(target.name) || taken(name))
      continue;
    FuncOp fn = genInferenceFn(name, FuncRole::translate, "", o.value->loc,
                               "this reconstruction objective", [&](FnCtx &fn) -> Value {
      Val r = gen(pred, fn);
      return rec->image(builder, loc(pred.loc),
                        r ? asTensor(r, pred.loc, "the reconstruction") : Value());
    });
    if (!fn)
      return mlir::failure();
  }

  // translate: in an image-to-image game, each term gan(D(y), D(G)) whose
  // real side reads one data input y only and whose fake side G reads one
  // data input x and no latent, distribution or sample: G maps domain x to
  // domain y (CycleGAN's G: a -> b and F: b -> a), @translate.<x>.<y>; x
  // may be y (Puzzle-GAN's G completes an image from some of its patches).
  // A G that also reads categories (latents with a uniform categorical
  // prior) maps x to the domain they name (StarGAN's G(x, c)): it takes
  // them as codes, @translate.<x>.<first code>.
  for (const ::gm::MinimaxDecl &m : ast.minimaxes) {
    auto readsOf = [&](const Expr &e) {
      Reads reads;
      llvm::StringSet<> visited;
      collectReads(e, &m.lets, reads, visited);
      return reads;
    };
    std::function<LogicalResult(const Expr &)> visit = [&](const Expr &e) -> LogicalResult {
      if (e.kind == Kind::Call && e.name == "gan" && e.args.size() == 2) {
        const Expr *realCall = throughLets(m, e.args[0].value.get());
        const Expr *fakeCall = throughLets(m, e.args[1].value.get());
        const Expr *real = realCall ? netArg(*realCall) : nullptr;
        const Expr *fake = fakeCall ? netArg(*fakeCall) : nullptr;
        if (!real || !fake)
          return success();
        Reads r = readsOf(*real), f = readsOf(*fake);
        if (r.stochastic || !r.latents.empty() || r.data.size() != 1 || f.stochastic ||
            f.data.size() != 1)
          return success();
        Codes codes;
        for (const std::string &z : f.latents) {
          if (codePrior(z) != "uniform_categorical")
            return success();
          codes[z] = codePrior(z);
        }
        std::string x = *f.data.begin(), y = *r.data.begin();
        std::string name = "translate." + x + "." + (codes.empty() ? y : codes.begin()->first);
        if (taken(name))
          return success();
        FuncOp fn = genInferenceFn(name, FuncRole::translate, "", m.valueLoc,
                                   "the fake side of this game", [&](FnCtx &fn) -> Value {
          takeCodes(fn, codes, 0, m.valueLoc);
          fn.lets = &m.lets;
          Val r = gen(*fake, fn);
          return r ? asTensor(r, fake->loc, "the translation") : Value();
        });
        if (fn)
          setCodes(fn, codes);
        return success(fn != nullptr);
      }
      for (const auto &op : e.operands)
        if (failed(visit(*op)))
          return mlir::failure();
      return success();
    };
    if (m.value && failed(visit(*m.value)))
      return mlir::failure();
  }

  // generate: a GAN's generator, the argument of the fake side's net: of
  // gan(real, D(fake)), or else of the first call of a discriminator net
  // (in the value, then the players' losses) whose argument reads a
  // latent and no images (a Wasserstein, least-squares or hinge game).
  // Labels and captions it reads are conditions the entry takes as data
  // (text-to-image's caption).
  auto onlyConditions = [&](const std::set<std::string> &data) {
    return llvm::all_of(data, [&](const std::string &d) {
      return dataOps[dataIndex.lookup(d)].getKind() != DataKind::real;
    });
  };
  for (const ::gm::MinimaxDecl &m : ast.minimaxes) {
    const Expr *found = nullptr;
    auto readsOneLatent = [&](const Expr &e) {
      Reads reads;
      llvm::StringSet<> visited;
      collectReads(e, &m.lets, reads, visited);
      return !reads.stochastic && onlyConditions(reads.data) && !reads.latents.empty();
    };
    std::function<void(const Expr &)> search = [&](const Expr &e) {
      if (found)
        return;
      if (e.kind == Kind::Call &&
          llvm::any_of(m.discriminator, [&](const ::gm::Name &n) { return n.text == e.name; }))
        if (const Expr *arg = netArg(e); arg && readsOneLatent(*arg)) {
          found = arg;
          return;
        }
      for (const auto &op : e.operands)
        search(*op);
      for (const ::gm::Arg &a : e.args)
        if (a.value)
          search(*a.value);
    };
    const Expr *v = m.value.get();
    if (v && v->kind == Kind::Call && v->name == "gan" && v->args.size() == 2) {
      if (const Expr *fake = throughLets(m, v->args[1].value.get()))
        found = netArg(*fake);
    } else {
      for (const Expr *e : {v, (const Expr *)m.discLoss.get(), (const Expr *)m.genLossExpr.get()})
        if (e)
          search(*e);
    }
    if (!found)
      continue;
    const Expr &inner = *found;
    ::gm::Loc at = m.value ? m.valueLoc : m.discLossLoc;
    Reads reads;
    llvm::StringSet<> visited;
    collectReads(inner, &m.lets, reads, visited);
    if (reads.stochastic || !onlyConditions(reads.data) || reads.latents.empty())
      continue;
    // The entry takes one latent, the first declared with a standard normal
    // prior of known shape (else with any such prior). Any other it reads
    // whose prior a host can draw (InfoGAN's category c) is a code the
    // entry takes too, so a user can choose it; the rest are drawn inside
    // from their priors, so each needs one with a shape.
    std::vector<std::string> latents;
    for (const ::gm::DistDecl &d : ast.dists)
      if (d.role == Role::Prior && reads.latents.count(d.var.text) &&
          !llvm::is_contained(latents, d.var.text))
        latents.push_back(d.var.text);
    if (latents.size() != reads.latents.size() ||
        !llvm::all_of(latents, [&](const std::string &v) { return priorWithShape(v); }))
      continue;
    auto first = llvm::find_if(latents, [&](const std::string &v) {
      return isStandardNormal(*priorWithShape(v));
    });
    std::string z = first != latents.end() ? *first : latents.front();
    const ::gm::DistDecl *prior = priorWithShape(z);
    if (taken("generate." + z))
      continue;
    Codes codes;
    for (const std::string &other : latents)
      if (other != z && !codePrior(other).empty())
        codes[other] = codePrior(other);
    FuncOp fn = genInferenceFn("generate." + z, FuncRole::generate, z, at,
                               "the fake side of this game", [&](FnCtx &fn) -> Value {
      Value arg = fn.entry->insertArgument(0u, batchedType(*prior->dims), loc(at));
      fn.latents[z] = arg;
      takeCodes(fn, codes, 1, at);
      // The batch is z's: the other latents' priors broadcast to it.
      fn.batchSize = builder.create<BatchSizeOp>(loc(at), arg);
      for (const std::string &other : latents) {
        if (other == z || codes.count(other))
          continue;
        const ::gm::DistDecl *p = priorWithShape(other);
        Val d = genDistDecl(*p, fn, {}, true);
        if (!d)
          return Value();
        fn.latents[other] = sample(d, fn, p->loc, latentStream.lookup(other));
      }
      fn.lets = &m.lets;
      Val r = gen(inner, fn);
      return r ? asTensor(r, inner.loc, "the generator's output") : Value();
    });
    if (!fn)
      return mlir::failure();
    fn.setStandardPrior(isStandardNormal(*prior));
    setCodes(fn, codes);
  }
  return success();
}
