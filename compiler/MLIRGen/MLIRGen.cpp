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

#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::gm;
using ::gm::Expr;
using ::gm::ModelAST;
using Kind = ::gm::Expr::Kind;

namespace {

//===----------------------------------------------------------------------===//
// Values during generation
//===----------------------------------------------------------------------===//

/// What an expression evaluates to. `None` means an error was reported.
struct Val {
  enum class K { None, Num, List, Tensor, Multi, Dist } k = K::None;
  double num = 0;
  std::vector<double> list;
  Value value;                 // Tensor or Dist
  SmallVector<Value> values;   // Multi
  const ::gm::DistDecl *decl = nullptr; // Dist: the declaration it came from
  bool defaultConds = false;   // Dist: conditioned on the context's values

  static Val number(double v) { Val r; r.k = K::Num; r.num = v; return r; }
  static Val tensor(Value v) { Val r; r.k = K::Tensor; r.value = v; return r; }
  static Val dist(Value v, const ::gm::DistDecl *d, bool dflt) {
    Val r; r.k = K::Dist; r.value = v; r.decl = d; r.defaultConds = dflt;
    return r;
  }
  explicit operator bool() const { return k != K::None; }
};

/// Per-function generation state.
struct FnCtx {
  bool isNet = false;
  std::string netName;
  Block *entry = nullptr;
  Value key;                                // objectives: the !gm.key
  int64_t nextStream = 0;
  SmallVector<std::pair<unsigned, Value>> dataArgs; // (decl index, arg)
  llvm::StringMap<Value> latents;           // one sample per latent
  llvm::DenseMap<const ::gm::DistDecl *, Value> dists; // evaluated in context
  unsigned regionDepth = 0; // > 0 inside a gm.iwae region: no caching
  Value batchSize;
  llvm::StringMap<int> layerCount;          // per layer kind, for names
  std::vector<llvm::StringMap<Val>> scopes; // innermost last
  const std::vector<::gm::Assign> *lets = nullptr;
  llvm::StringMap<Val> letCache;
  llvm::StringSet<> letsInProgress;
};

/// Parameter names of one builtin, the first `required` are mandatory.
struct Signature {
  std::vector<const char *> names;
  unsigned required;
};

/// A number as a person writes it: 0.1, not 1.000000e-01.
std::string fmtNum(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Where an expression starts: a binary expression's own location is its
/// operator, but a message about the whole should point at its beginning.
::gm::Loc startLoc(const Expr &e) {
  if (e.kind == Kind::Binary)
    return startLoc(*e.operands[0]);
  return e.loc;
}

bool isBatched(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && t.getRank() >= 1 && t.isDynamicDim(0);
}


std::vector<int64_t> perExample(RankedTensorType t) {
  ArrayRef<int64_t> dims = t.getShape();
  if (isBatched(t))
    dims = dims.drop_front();
  return std::vector<int64_t>(dims.begin(), dims.end());
}

class MLIRGenImpl {
public:
  MLIRGenImpl(MLIRContext &context, const ModelAST &model, StringRef filename)
      : ctx(context), builder(&context), ast(model),
        filename(StringAttr::get(&context, filename)) {}

  OwningOpRef<ModuleOp> generate();

private:
  //===--------------------------------------------------------------------===//
  // Diagnostics and small builders
  //===--------------------------------------------------------------------===//

  Location loc(::gm::Loc l) {
    return FileLineColLoc::get(filename, l.line, l.col);
  }
  Val fail(::gm::Loc l, const Twine &msg) {
    emitError(loc(l)) << msg;
    return Val();
  }
  LogicalResult failure(::gm::Loc l, const Twine &msg) {
    emitError(loc(l)) << msg;
    return mlir::failure();
  }
  Type f32() { return builder.getF32Type(); }
  RankedTensorType batchedType(ArrayRef<int64_t> dims, Type elt = {}) {
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(dims.begin(), dims.end());
    return RankedTensorType::get(shape, elt ? elt : f32());
  }
  Value constant(double v, ::gm::Loc l) {
    auto type = RankedTensorType::get({}, f32());
    return builder.create<ConstantOp>(
        loc(l), type, DenseElementsAttr::get(type, (float)v));
  }

  //===--------------------------------------------------------------------===//
  // Declarations
  //===--------------------------------------------------------------------===//

  LogicalResult checkNames();
  LogicalResult genConsts();
  /// Folds a constant expression: numbers, constants, + - * /.
  std::optional<double> evalConst(const Expr &e, StringRef what);
  LogicalResult genData();
  LogicalResult genModelParams();
  LogicalResult genProgressive();
  LogicalResult genObjectives();
  LogicalResult genMinimaxes();
  LogicalResult genGroups();
  LogicalResult genTrains();
  void reorder();

  std::optional<std::pair<InitKind, std::optional<double>>>
  parseInit(const Expr &e);
  ParamOp createParam(FnCtx &fn, const std::string &layer, StringRef suffix,
                      ArrayRef<int64_t> shape, InitKind init,
                      std::optional<double> scale, ::gm::Loc l);
  std::optional<OptimizerAttr> genOptimizer(const Expr &e);

  /// Emits gm.objective `name` from `value`; null on error.
  ObjectiveOp genObjective(StringRef name, const Expr &value,
                           const std::vector<::gm::Assign> *lets,
                           bool scalarOnly = false);
  /// Parameters reachable from `fn` (param_ref ops, through calls).
  void collectParams(Operation *fn, llvm::SetVector<StringAttr> &out);
  /// Parameters of a member of `over`, `discriminator` or a group.
  LogicalResult memberParams(const ::gm::Name &member,
                             llvm::SetVector<StringAttr> &out,
                             unsigned depth = 0);
  GroupOp makeGroup(StringRef name, const llvm::SetVector<StringAttr> &params,
                    ::gm::Loc l);
  std::string uniqueSymbol(StringRef base);

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  Val gen(const Expr &e, FnCtx &fn);
  Val genRef(const std::string &name, ::gm::Loc l, FnCtx &fn);
  Val genCall(const Expr &e, FnCtx &fn);
  Val genBinary(char op, Val a, Val b, ::gm::Loc l, FnCtx &fn);
  Val genNetCall(const ::gm::NetDecl &net, const Expr &e, FnCtx &fn);
  NetOp genNet(const ::gm::NetDecl &net, ArrayRef<Type> argTypes, ::gm::Loc callLoc);
  Val genLayer(StringRef name, const Expr &e, FnCtx &fn);
  Val genPure(StringRef name, const Expr &e, FnCtx &fn, bool &handled);
  Val genObjectiveBuiltin(StringRef name, const Expr &e, FnCtx &fn,
                          bool &handled);

  // Distributions.
  const ::gm::DistDecl *findDist(StringRef name, StringRef var) const;
  const ::gm::DistDecl *findRole(::gm::DistDecl::Role role, StringRef var) const;
  Val genDistRef(const Expr &e, FnCtx &fn);
  LogicalResult genInference();
  FuncOp genInferenceFn(StringRef name, FuncRole role, StringRef latent, ::gm::Loc at,
                        function_ref<Value(FnCtx &)> body);
  Val genDistDecl(const ::gm::DistDecl &decl, FnCtx &fn,
                  llvm::StringMap<Val> bindings, bool defaultConds);
  Val genDistCtor(const Expr &call, RankedTensorType target, FnCtx &fn);
  Value sample(Val dist, FnCtx &fn, ::gm::Loc l,
               std::optional<int64_t> stream = std::nullopt);
  Val latentSample(const std::string &var, ::gm::Loc l, FnCtx &fn);
  Val genLogProb(const Expr &e, FnCtx &fn);
  Val genKL(const Expr &e, FnCtx &fn);

  // Helpers on values.
  Value asTensor(const Val &v, ::gm::Loc l, StringRef what);
  std::optional<int64_t> asInt(const Val &v, ::gm::Loc l, StringRef what,
                               int64_t min = 1);
  std::optional<double> asNumber(const Val &v, ::gm::Loc l, StringRef what);
  Value dataArg(unsigned index, FnCtx &fn);
  Value batchSize(Value ref, FnCtx &fn, ::gm::Loc l);
  Value broadcastTo(Value v, RankedTensorType target, Value ref, FnCtx &fn,
                    ::gm::Loc l);
  std::optional<RankedTensorType> broadcastShape(RankedTensorType a,
                                                 RankedTensorType b);
  bool bindArgs(const Expr &call, const Signature &sig,
                std::vector<const Expr *> &slots);

  MLIRContext &ctx;
  OpBuilder builder;
  const ModelAST &ast;
  StringAttr filename;
  ModelOp model;

  llvm::StringMap<double> consts;
  llvm::StringMap<unsigned> dataIndex;
  std::vector<DataOp> dataOps;
  llvm::StringMap<ParamOp> params;
  llvm::StringMap<const ::gm::NetDecl *> netDecls;
  llvm::StringMap<NetOp> netOps;
  llvm::StringSet<> netsInProgress;
  llvm::StringMap<std::vector<Type>> netFirstArgs;
  llvm::StringMap<::gm::Loc> netFirstCall;
  llvm::StringMap<const ::gm::GroupDecl *> groupDecls;
  llvm::StringMap<GroupOp> groupOps;
  llvm::StringMap<ObjectiveOp> objectives;
  llvm::StringSet<> symbols;
  llvm::StringSet<> distNames;
  llvm::StringSet<> latentVars;
  llvm::StringMap<int64_t> latentStream; // streams 0..L-1, by declaration
  ProgressiveOp schedule;
};

} // namespace

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
  if (failed(verify(*module)))
    return nullptr;
  return module;
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
// Inference entry points: encode and decode
//===----------------------------------------------------------------------===//

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
    if (auto ref = dyn_cast<ParamRefOp>(op))
      out.insert(ref.getNameAttr().getAttr());
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
  for (const ::gm::Arg &a : e.args) {
    if (a.key.text.empty()) {
      emitError(loc(a.value->loc))
          << "optimizer arguments are named, as in " << e.name << "(lr = 1e-3)";
      return std::nullopt;
    }
    auto it = llvm::find_if(hp, [&](auto &kv) { return a.key.text == kv.first; });
    if (it == hp.end()) {
      emitError(loc(a.key.loc)) << "unknown hyper-parameter '" << a.key.text
                                << "' for " << e.name << "; expected "
                                << (adam ? "lr, beta1, beta2 or eps"
                                         : "lr or momentum");
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
    bool hasGan = false;
    std::function<void(const Expr &)> scan = [&](const Expr &e) {
      if (e.kind == Kind::Call && e.name == "gan")
        hasGan = true;
      for (auto &op : e.operands)
        scan(*op);
      for (auto &a : e.args)
        scan(*a.value);
    };
    scan(*m.value);
    if (!hasGan)
      return failure(m.valueLoc, "the value of minimax '" + m.name.text +
                                     "' has no gan(real, fake) term");
    ObjectiveOp value =
        genObjective(uniqueSymbol(m.name.text + ".value"), *m.value, &m.lets);
    if (!value)
      return mlir::failure();
    ObjectiveOp discExtra, genExtra;
    if (m.discExtra &&
        !(discExtra = genObjective(uniqueSymbol(m.name.text + ".disc_extra"),
                                   *m.discExtra, &m.lets)))
      return mlir::failure();
    if (m.genExtra &&
        !(genExtra = genObjective(uniqueSymbol(m.name.text + ".gen_extra"),
                                  *m.genExtra, &m.lets)))
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
        FlatSymbolRefAttr::get(value.getSymNameAttr()),
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
                            [&](const char *n) { return a.key.text == n; });
    if (it == sig.names.end()) {
      std::string expected;
      for (size_t i = 0; i < sig.names.size(); ++i)
        expected += (i ? ", " : "") + std::string(sig.names[i]);
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
  bool handled = false;
  Val v = genPure(e.name, e, fn, handled);
  if (handled)
    return v;
  v = genObjectiveBuiltin(e.name, e, fn, handled);
  if (handled)
    return v;
  static const char *layers[] = {
      "linear", "masked_linear", "conv2d", "conv2d_transpose",
      "masked_conv2d", "batch_norm", "embedding", "lstm", "lstm_cell",
      "row_lstm", "nade"};
  if (llvm::is_contained(layers, e.name)) {
    if (!fn.isNet)
      return fail(e.loc, "layer '" + e.name +
                             "' creates parameters and may only be used "
                             "inside a net");
    return genLayer(e.name, e, fn);
  }
  static const char *dists[] = {"normal", "normal_logvar", "bernoulli_logits",
                                "categorical_logits", "uniform",
                                "mixture_normal"};
  if (llvm::is_contained(dists, e.name))
    return fail(e.loc, "distribution '" + e.name +
                           "' may only be used in a prior, posterior or "
                           "likelihood declaration");
  return fail(e.loc, "unknown function '" + e.name + "'");
}

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

Val MLIRGenImpl::genLayer(StringRef name, const Expr &e, FnCtx &fn) {
  static const std::map<std::string, Signature> sigs = {
      {"linear", {{"x", "out", "bias", "init", "name"}, 2}},
      {"masked_linear", {{"x", "out", "mask", "bias", "init", "name"}, 2}},
      {"conv2d", {{"x", "out", "kernel", "stride", "padding", "bias", "init", "name"}, 3}},
      {"conv2d_transpose", {{"x", "out", "kernel", "stride", "padding", "output_padding", "bias", "init", "name"}, 3}},
      {"masked_conv2d", {{"x", "out", "kernel", "mask", "bias", "init", "name"}, 3}},
      {"batch_norm", {{"x", "eps", "momentum", "name"}, 1}},
      {"embedding", {{"ids", "vocab", "dim", "init", "name"}, 3}},
      {"lstm", {{"x", "hidden", "name"}, 2}},
      {"lstm_cell", {{"x", "h", "c", "name"}, 3}},
      {"row_lstm", {{"x", "hidden", "kernel", "name"}, 2}},
      {"nade", {{"x", "hidden", "name"}, 2}},
  };
  const Signature &sig = sigs.at(name.str());
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
    int64_t c = per[0], h = per[1], w = per[2];
    if (name == "masked_conv2d") {
      if (*k % 2 == 0)
        return fail(slot("kernel")->loc, "masked_conv2d needs an odd kernel, got " +
                                             std::to_string(*k));
      MaskKind mask = MaskKind::A;
      if (const Expr *m = slot("mask")) {
        auto mk = m->kind == Kind::Ref ? symbolizeMaskKind(m->name) : std::nullopt;
        if (!mk)
          return fail(m->loc, "'mask' must be A or B");
        mask = *mk;
      }
      Value wt = makeParam("weight", {*out, c, *k, *k}, weightInit(c * *k * *k));
      Value b = *bias ? makeParam("bias", {*out}, biasInit(c * *k * *k)) : Value();
      if (!wt || (*bias && !b)) return Val();
      return Val::tensor(builder.create<MaskedConv2DOp>(
          at, batchedType({*out, h, w}), x, wt, b, mask));
    }
    auto stride = intArg("stride", 1, 1);
    auto pad = intArg("padding", 0, 0);
    if (!stride || !pad) return Val();
    if (name == "conv2d") {
      int64_t oh = h + 2 * *pad - *k, ow = w + 2 * *pad - *k;
      if (oh < 0 || ow < 0)
        return fail(e.loc, "conv2d kernel " + std::to_string(*k) +
                               " is larger than the padded input " +
                               describeShape(xt));
      Value wt = makeParam("weight", {*out, c, *k, *k}, weightInit(c * *k * *k));
      Value b = *bias ? makeParam("bias", {*out}, biasInit(c * *k * *k)) : Value();
      if (!wt || (*bias && !b)) return Val();
      return Val::tensor(builder.create<Conv2DOp>(
          at, batchedType({*out, oh / *stride + 1, ow / *stride + 1}), x, wt, b,
          builder.getDenseI64ArrayAttr({*stride, *stride}),
          builder.getDenseI64ArrayAttr({*pad, *pad})));
    }
    auto outPad = intArg("output_padding", 0, 0);
    if (!outPad) return Val();
    if (*outPad >= *stride)
      return fail(slot("output_padding")->loc,
                  "output_padding must be smaller than the stride");
    int64_t oh = (h - 1) * *stride - 2 * *pad + *k + *outPad;
    int64_t ow = (w - 1) * *stride - 2 * *pad + *k + *outPad;
    if (oh < 1 || ow < 1)
      return fail(e.loc, "conv2d_transpose output would be empty for input " +
                             describeShape(xt));
    // PyTorch computes a transposed convolution's fan-in from weight dim 1.
    Value wt = makeParam("weight", {c, *out, *k, *k}, weightInit(*out * *k * *k));
    Value b = *bias ? makeParam("bias", {*out}, biasInit(*out * *k * *k)) : Value();
    if (!wt || (*bias && !b)) return Val();
    return Val::tensor(builder.create<Conv2DTransposeOp>(
        at, batchedType({*out, oh, ow}), x, wt, b,
        builder.getDenseI64ArrayAttr({*stride, *stride}),
        builder.getDenseI64ArrayAttr({*pad, *pad}),
        builder.getDenseI64ArrayAttr({*outPad, *outPad})));
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

//===----------------------------------------------------------------------===//
// Pure builtins
//===----------------------------------------------------------------------===//

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
  static const std::map<std::string, Signature> sigs = {
      {"normal", {{"loc", "scale"}, 2}},
      {"normal_logvar", {{"loc", "logvar"}, 2}},
      {"bernoulli_logits", {{"logits"}, 1}},
      {"categorical_logits", {{"logits"}, 1}},
      {"uniform", {{"low", "high"}, 2}},
      {"mixture_normal", {{"logits", "means", "logvars"}, 3}},
  };
  auto it = call.kind == Kind::Call ? sigs.find(call.name) : sigs.end();
  if (it == sigs.end())
    return fail(call.loc, "expected a distribution: normal, normal_logvar, "
                          "bernoulli_logits, categorical_logits, uniform or "
                          "mixture_normal");
  const Signature &sig = it->second;
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
      Value t = asTensor(v, s->loc, "'" + std::string(sig.names[i]) + "' of " +
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
      std::string msg = "'" + std::string(sig.names[i]) + "' of " + call.name +
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
  if (auto it = fn.latents.find(var); it != fn.latents.end())
    return Val::tensor(it->second);
  // The posterior when it is conditioned on observed data only (q(z | x) in
  // a VAE), else the prior: InfoGAN's r(c | image) is a recognition network
  // evaluated on demand, not where c comes from.
  const ::gm::DistDecl *decl = findRole(::gm::DistDecl::Role::Posterior, var);
  if (decl && !llvm::all_of(decl->conds, [&](const ::gm::Name &c) {
        return dataIndex.count(c.text) > 0;
      }))
    decl = nullptr;
  if (!decl)
    decl = findRole(::gm::DistDecl::Role::Prior, var);
  if (!decl)
    return fail(l, "latent '" + var + "' has no prior or posterior");
  if (!fn.latents.insert({var, Value()}).second)
    return fail(l, "latent '" + var + "' depends on itself");
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

namespace gm {
OwningOpRef<ModuleOp> mlirGen(MLIRContext &context, const ModelAST &model,
                              StringRef filename) {
  return MLIRGenImpl(context, model, filename).generate();
}
} // namespace gm
