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
struct Reads;

/// A builtin of the language, by what may call it: a function (anywhere), an
/// objective term (outside nets), a layer (inside nets; it creates
/// parameters) or a distribution constructor (in declarations).
enum class BuiltinKind { Function, Objective, Layer, Distribution };

/// One entry of the builtin table (Builtins.cpp): name -> signature ->
/// builder. Layers are built by genLayer and distributions by genDistCtor,
/// which take their signatures from here. A `variadic` builtin binds its own
/// arguments.
struct Builtin {
  BuiltinKind kind;
  Signature sig;
  Val (*build)(BuiltinCall &) = nullptr;
  bool variadic = false;
};

/// The builtin called |name|, or null.
const Builtin *findBuiltin(StringRef name);

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
  Val genLayer(StringRef name, const Signature &sig, const Expr &e, FnCtx &fn);
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

} // namespace gm::mlirgen

#endif // GM_COMPILER_MLIRGEN_IMPL_H
