//===- Impl.h - MLIRGen's state, shared by its files ------------------------===//
//
// MLIRGen is one class split by concern over several files:
//
//   MLIRGen.cpp        the driver and the declarations: names, constants,
//                      data, parameters, objectives, groups, training blocks
//   Entries.cpp        the inference entries (encode, decode, generate)
//                      derived from the declarations
//   Expressions.cpp    expressions: references, arithmetic, calls
//   Layers.cpp         nets and the layers that create parameters
//   Builtins.cpp       the builtin functions, one table name -> signature
//                      -> builder; activations come from the dialect
//   Distributions.cpp  distributions, samples, log_prob and KL
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_MLIRGEN_IMPL_H
#define GM_COMPILER_MLIRGEN_IMPL_H

#include "compiler/Frontend/AST.h"
#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace gm::mlirgen {

using namespace mlir;
using namespace mlir::gm;
using ::gm::Expr;
using ::gm::ModelAST;
using Kind = ::gm::Expr::Kind;

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
  std::vector<StringRef> names;
  unsigned required;
};

class MLIRGenImpl;
struct BuiltinCall;
struct LayerCall;
struct Reads;

/// A builtin of the language, by what may call it: a function (anywhere), an
/// objective term (outside nets), a layer (inside nets; it creates
/// parameters) or a distribution constructor (in declarations).
enum class BuiltinKind { Function, Objective, Layer, Distribution };

/// One entry of the builtin table (Builtins.cpp): name -> signature ->
/// builder. A layer's builder gets its input, name and initialisers from
/// genLayer; distributions are built by genDistCtor, which takes their
/// signatures from here. A `variadic` builtin binds its own arguments.
struct Builtin {
  BuiltinKind kind;
  Signature sig;
  Val (*build)(BuiltinCall &) = nullptr;
  bool variadic = false;
  Val (*layer)(LayerCall &) = nullptr; // BuiltinKind::Layer
};

/// The builtin called |name|, or null.
const Builtin *findBuiltin(StringRef name);

/// The largest parameter (elements; 4 GiB of f32) and the largest value per
/// example (1 GiB) a model may declare; docs/language.md.
constexpr int64_t kMaxParamElements = int64_t(1) << 30;
constexpr int64_t kMaxValueElements = int64_t(1) << 28;

/// A number as a person writes it: 0.1, not 1.000000e-01.
inline std::string fmtNum(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Where an expression starts: a binary expression's own location is its
/// operator, but a message about the whole should point at its beginning.
inline ::gm::Loc startLoc(const Expr &e) {
  if (e.kind == Kind::Binary)
    return startLoc(*e.operands[0]);
  return e.loc;
}

inline bool isBatched(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && t.getRank() >= 1 && t.isDynamicDim(0);
}


inline std::vector<int64_t> perExample(RankedTensorType t) {
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

  // Everything below is shared by MLIRGen's files; Impl.h is private to them.
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
  /// Parameters and values within gm's size limits, else an error at the
  /// .gm source.
  LogicalResult checkSizes();

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
  Val genLayer(const Builtin &b, const Expr &e, FnCtx &fn);
  /// A builtin function or objective term of the table.
  Val genBuiltin(const Builtin &b, const Expr &e, FnCtx &fn);
  /// An op of the dialect with the ElementwiseBuiltin trait, called by its
  /// mnemonic: its operand, then its f64 attributes as optional arguments.
  Val genElementwise(RegisteredOperationName op, const Expr &e, FnCtx &fn);
  Val genMutualInfo(BuiltinCall &c);
  Val genIwae(BuiltinCall &c);

  // Distributions.
  const ::gm::DistDecl *findDist(StringRef name, StringRef var) const;
  const ::gm::DistDecl *findRole(::gm::DistDecl::Role role, StringRef var) const;
  Val genDistRef(const Expr &e, FnCtx &fn);
  /// The encode, decode and generate entries, by the rules of Entries.cpp.
  LogicalResult genInference();
  FuncOp genInferenceFn(StringRef name, FuncRole role, StringRef latent, ::gm::Loc at,
                        StringRef from, function_ref<Value(FnCtx &)> body);
  void collectReads(const Expr &e, const std::vector<::gm::Assign> *lets, Reads &out,
                    llvm::StringSet<> &visited) const;
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

/// One call of a builtin, its arguments bound to the signature's slots.
struct BuiltinCall {
  MLIRGenImpl &g;
  const Expr &e;
  FnCtx &fn;
  const Signature &sig;
  std::vector<const Expr *> slots;
  Location at;

  StringRef name() const { return e.name; }
  OpBuilder &b() { return g.builder; }
  Val fail(::gm::Loc l, const Twine &msg) { return g.fail(l, msg); }
  Val fail(const Twine &msg) { return g.fail(e.loc, msg); }
  /// Where argument |i| is written, or the call when it is omitted.
  ::gm::Loc locOf(size_t i) const { return slots[i] ? slots[i]->loc : e.loc; }
  /// "'x' of mse", to name argument |i| in a message.
  std::string what(size_t i) const {
    return "'" + sig.names[i].str() + "' of " + e.name;
  }
  /// A shape-rule error at the call, prefixed with the builtin's name: the
  /// ShapeError of an op's inferResultType, as [&] { return c.shapeError(); }.
  InFlightDiagnostic shapeError() {
    InFlightDiagnostic d = emitError(g.loc(e.loc));
    d << e.name << " ";
    return d;
  }

  Val gen(size_t i) { return g.gen(*slots[i], fn); }
  /// Argument |i| as an f32 tensor.
  Value tensor(size_t i) {
    Val v = gen(i);
    if (!v) return {};
    Value t = g.asTensor(v, slots[i]->loc, what(i));
    if (t && !cast<RankedTensorType>(t.getType()).getElementType().isF32()) {
      emitError(g.loc(slots[i]->loc)) << e.name << " expects f32 values, got token ids";
      return {};
    }
    return t;
  }
  std::optional<int64_t> integer(size_t i, int64_t dflt, int64_t min) {
    if (!slots[i])
      return dflt;
    Val v = gen(i);
    return v ? g.asInt(v, slots[i]->loc, what(i), min) : std::nullopt;
  }
  std::optional<double> number(size_t i, double dflt) {
    if (!slots[i])
      return dflt;
    Val v = gen(i);
    return v ? g.asNumber(v, slots[i]->loc, what(i)) : std::nullopt;
  }
  /// A per-example axis (batch excluded, negative from the end), as the IR
  /// axis of |t|.
  std::optional<int64_t> axis(size_t i, RankedTensorType t, int64_t dflt) {
    int64_t rank = (int64_t)perExample(t).size();
    int64_t a = dflt;
    if (slots[i]) {
      Val v = gen(i);
      auto n = v ? g.asNumber(v, slots[i]->loc, "'axis' of " + e.name) : std::nullopt;
      if (!n) return std::nullopt;
      a = (int64_t)*n;
    }
    if (a < 0)
      a += rank;
    if (a < 0 || a >= rank) {
      emitError(g.loc(locOf(i))) << "axis " << a << " is out of range for "
                                 << describeShape(t)
                                 << " (axes count from 0 after the batch)";
      return std::nullopt;
    }
    return a + (isBatched(t) ? 1 : 0);
  }
  /// Argument |i| as a declared distribution, as in q(z | x).
  Val dist(size_t i) {
    const Expr &a = *slots[i];
    if (a.kind != Kind::Dist && !(a.kind == Kind::Call && g.distNames.contains(a.name)))
      return fail(a.loc, what(i) + " must be a declared distribution, as in q(z | x)");
    return gen(i);
  }
  template <typename OpT, typename... Args> Val make(Args &&...args) {
    return Val::tensor(g.builder.create<OpT>(at, std::forward<Args>(args)...));
  }
};

/// A layer call inside a net: a builtin call with its input generated first
/// (in linear(relu(linear(x, 256)), 32) the inner layer is created, and
/// numbered, before the outer one), its name, and its initialisers.
struct LayerCall : BuiltinCall {
  using Init = std::pair<InitKind, std::optional<double>>;
  Value x;
  RankedTensorType xt;
  std::vector<int64_t> per; // x's per-example shape
  std::string layerName;    // `name = fc1`, else the kind and a counter
  std::optional<Init> init; // `init = ...`

  /// The argument called |n|, or null when it is not written.
  const Expr *slot(StringRef n) const {
    for (size_t i = 0; i < sig.names.size(); ++i)
      if (n == sig.names[i])
        return slots[i];
    return nullptr;
  }
  std::optional<int64_t> intArg(StringRef n, int64_t dflt, int64_t min) {
    const Expr *a = slot(n);
    if (!a)
      return dflt;
    Val v = g.gen(*a, fn);
    return v ? g.asInt(v, a->loc, "'" + n.str() + "' of " + e.name, min) : std::nullopt;
  }
  std::optional<bool> boolArg(StringRef n, bool dflt) {
    const Expr *a = slot(n);
    if (!a)
      return dflt;
    if (a->kind == Kind::Ref && (a->name == "true" || a->name == "false"))
      return a->name == "true";
    emitError(g.loc(a->loc)) << "'" << n << "' of " << e.name << " must be true or false";
    return std::nullopt;
  }
  /// `mask = A | B`, A when not written.
  std::optional<MaskKind> maskArg() {
    const Expr *m = slot("mask");
    if (!m)
      return MaskKind::A;
    auto k = m->kind == Kind::Ref ? symbolizeMaskKind(m->name) : std::nullopt;
    if (!k)
      fail(m->loc, "'mask' must be A or B");
    return k;
  }
  /// An error about the input, at the input.
  Val failInput(const Twine &msg) { return fail(slots[0]->loc, msg); }
  /// PyTorch's defaults, uniform with bound 1/sqrt(fan_in) for weights and
  /// biases, unless `init =` says otherwise; with an explicit init, biases
  /// start at zero.
  Init weightInit(int64_t fanIn) const {
    return init ? *init : Init(InitKind::uniform, 1.0 / std::sqrt((double)fanIn));
  }
  Init biasInit(int64_t fanIn) const {
    return init ? Init(InitKind::zeros, std::nullopt)
                : Init(InitKind::uniform, 1.0 / std::sqrt((double)fanIn));
  }
  /// Creates parameter <net>.<layer>.<suffix> and returns a reference to it.
  Value param(StringRef suffix, ArrayRef<int64_t> shape, Init in) {
    ParamOp p = g.createParam(fn, layerName, suffix, shape, in.first, in.second, e.loc);
    if (!p)
      return {};
    return g.builder.create<ParamRefOp>(at, p.getType(), p.getSymName());
  }
  /// A running statistic of the layer (gm.param {statistic}), read.
  Value statistic(StringRef suffix, ArrayRef<int64_t> shape, InitKind init) {
    ParamOp p = g.createParam(fn, layerName, suffix, shape, init, std::nullopt, e.loc);
    if (!p)
      return {};
    p.setStatistic(true);
    return g.builder.create<ParamRefOp>(at, p.getType(), p.getSymName());
  }
  /// The f32 tensor type of |shape|, for a shape rule before the parameter
  /// exists.
  RankedTensorType f32Type(ArrayRef<int64_t> shape) const {
    return RankedTensorType::get(shape, g.builder.getF32Type());
  }
};

// The layer builders (Layers.cpp), rows of the builtin table.
Val buildEmbedding(LayerCall &c);
Val buildLinear(LayerCall &c);
Val buildConv(LayerCall &c);
Val buildBatchNorm(LayerCall &c);
Val buildLSTM(LayerCall &c);
Val buildRowLSTM(LayerCall &c);
Val buildNade(LayerCall &c);

} // namespace gm::mlirgen

#endif // GM_COMPILER_MLIRGEN_IMPL_H
