//===- GMOps.cpp - gm dialect operations ------------------------------------===//
//
// Verifiers, custom assembly and folders of the gm ops. Every rule a trait
// cannot express is checked here, with a message that names the offending
// types, so MLIRGen bugs and hand-written IR fail with the reason.
//
// Shape legend: B = batch (dynamic, leading), D = features, H = hidden,
// C = channels, K = classes or components.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/IR/GMOps.h"

#include "runtime/include/gmrt/abi.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::gm;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static RankedTensorType rt(Type type) { return cast<RankedTensorType>(type); }
static RankedTensorType rt(Value value) { return rt(value.getType()); }

/// True if `type` is (B, ...) with a dynamic batch and static other dims.
static bool isBatched(RankedTensorType type) {
  return type.getRank() >= 1 && type.isDynamicDim(0) &&
         !ShapedType::isDynamicShape(type.getShape().drop_front());
}

static LogicalResult expectBatched(Operation *op, Type type, StringRef what) {
  if (!isBatched(rt(type)))
    return op->emitOpError() << "expects " << what
                             << " with a dynamic batch dimension first and "
                                "static dimensions after it, got "
                             << type;
  return success();
}

template <typename OpT>
static OpT lookup(Operation *from, SymbolTableCollection &tables,
                  FlatSymbolRefAttr ref) {
  return tables.lookupNearestSymbolFrom<OpT>(from, ref);
}

/// Collects the parameters of groups `refs`; fails on a missing group.
static LogicalResult collectGroupParams(Operation *op,
                                        SymbolTableCollection &tables,
                                        ArrayAttr refs,
                                        llvm::SmallSetVector<StringAttr, 16> &out) {
  for (Attribute ref : refs) {
    auto flat = dyn_cast<FlatSymbolRefAttr>(ref);
    auto group = flat ? lookup<GroupOp>(op, tables, flat) : GroupOp();
    if (!group)
      return op->emitOpError() << "'" << ref << "' is not a gm.group";
    for (Attribute param : group.getParams())
      out.insert(cast<FlatSymbolRefAttr>(param).getAttr());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ModelOp, DataOp, ParamOp, GroupOp
//===----------------------------------------------------------------------===//

void ModelOp::build(OpBuilder &builder, OperationState &state, StringRef name) {
  state.addAttribute(mlir::SymbolTable::getSymbolAttrName(),
                     builder.getStringAttr(name));
  state.addRegion()->emplaceBlock();
}

LogicalResult DataOp::verify() {
  auto type = rt(getType());
  if (failed(expectBatched(*this, type, "a data type")))
    return failure();
  switch (getKind()) {
  case DataKind::real:
    if (!type.getElementType().isF32())
      return emitOpError() << "expects real data to be f32, got " << type;
    break;
  case DataKind::label:
    if (!type.getElementType().isF32() || type.getRank() != 2)
      return emitOpError() << "expects labels as one-hot tensor<?xKxf32>, got "
                           << type;
    if (!getClasses() || (int64_t)*getClasses() != type.getDimSize(1))
      return emitOpError() << "expects 'classes' equal to the label width "
                           << type.getDimSize(1);
    break;
  case DataKind::tokens:
    if (!type.getElementType().isInteger(32) || type.getRank() != 2)
      return emitOpError() << "expects tokens as tensor<?xTxi32>, got " << type;
    if (!getClasses() || *getClasses() < 1)
      return emitOpError() << "expects 'classes' (the vocabulary size) on "
                              "token data";
    break;
  }
  return success();
}

LogicalResult ParamOp::verify() {
  auto type = rt(getType());
  if (!type.hasStaticShape())
    return emitOpError() << "expects a static shape, got " << type;
  if (getScale() && !(getScale()->convertToDouble() > 0))
    return emitOpError() << "expects a positive 'scale'";
  return success();
}

LogicalResult GroupOp::verifySymbolUses(SymbolTableCollection &tables) {
  for (Attribute ref : getParams())
    if (!lookup<ParamOp>(*this, tables, cast<FlatSymbolRefAttr>(ref)))
      return emitOpError() << "'" << ref << "' is not a gm.param";
  return success();
}

//===----------------------------------------------------------------------===//
// NetOp, ObjectiveOp, ReturnOp, CallOp, ParamRefOp
//===----------------------------------------------------------------------===//

template <typename OpT>
static void buildFunctionLike(OpBuilder &builder, OperationState &state,
                              StringRef name, FunctionType type) {
  state.addAttribute(mlir::SymbolTable::getSymbolAttrName(),
                     builder.getStringAttr(name));
  state.addAttribute(OpT::getFunctionTypeAttrName(state.name),
                     TypeAttr::get(type));
  state.addRegion();
}

template <typename OpT>
static ParseResult parseFunctionLike(OpAsmParser &parser,
                                     OperationState &result) {
  auto buildFuncType = [](Builder &builder, ArrayRef<Type> argTypes,
                          ArrayRef<Type> results,
                          function_interface_impl::VariadicFlag,
                          std::string &) {
    return builder.getFunctionType(argTypes, results);
  };
  return function_interface_impl::parseFunctionOp(
      parser, result, /*allowVariadic=*/false,
      OpT::getFunctionTypeAttrName(result.name), buildFuncType,
      OpT::getArgAttrsAttrName(result.name),
      OpT::getResAttrsAttrName(result.name));
}

template <typename OpT>
static void printFunctionLike(OpAsmPrinter &p, OpT op) {
  function_interface_impl::printFunctionOp(
      p, op, /*isVariadic=*/false, op.getFunctionTypeAttrName(),
      op.getArgAttrsAttrName(), op.getResAttrsAttrName());
}


/// Every function-like gm op has a body: nets and objectives come from .gm
/// source, gm.func from the passes, and none is a declaration.
static LogicalResult verifyHasBody(FunctionOpInterface fn) {
  if (fn.getFunctionBody().empty())
    return fn->emitOpError() << "expects a body";
  return success();
}

LogicalResult NetOp::verify() { return verifyHasBody(*this); }

ArrayAttr mlir::gm::getDataInputs(Operation *fn) {
  if (auto obj = dyn_cast<ObjectiveOp>(fn))
    return obj.getInputs();
  if (auto func = dyn_cast<FuncOp>(fn))
    return func.getInputs();
  return {};
}

/// Each of |inputs| names a gm.data whose type is that of the argument in
/// its position.
static LogicalResult verifyDataInputs(FunctionOpInterface fn, ArrayAttr inputs) {
  auto model = fn->getParentOfType<ModelOp>();
  for (auto [ref, argType] : llvm::zip(inputs, fn.getArgumentTypes())) {
    auto flat = dyn_cast<FlatSymbolRefAttr>(ref);
    auto data = flat ? SymbolTable::lookupSymbolIn(model, flat.getAttr())
                     : nullptr;
    auto dataOp = dyn_cast_or_null<DataOp>(data);
    if (!dataOp)
      return fn->emitOpError() << "input " << ref << " is not a gm.data";
    if (dataOp.getType() != argType)
      return fn->emitOpError() << "argument for " << ref << " has type "
                               << argType << ", but the data is "
                               << dataOp.getType();
  }
  return success();
}




LogicalResult ObjectiveOp::verify() {
  if (failed(verifyHasBody(*this)))
    return failure();
  FunctionType type = getFunctionType();
  if (type.getNumResults() != 1 || type.getResult(0) != RankedTensorType::get(
                                       {}, Float32Type::get(getContext())))
    return emitOpError() << "expects a single tensor<f32> result, got "
                         << type.getResults().size() << " result(s)";
  if (type.getNumInputs() == 0 || !isa<KeyType>(type.getInputs().back()))
    return emitOpError() << "expects a !gm.key as its last argument";
  if (getInputs().size() != type.getNumInputs() - 1)
    return emitOpError() << "expects an 'inputs' array naming the gm.data of "
                            "each argument before the key";
  return verifyDataInputs(*this, getInputs());
}

LogicalResult FuncOp::verify() {
  if (failed(verifyHasBody(*this)))
    return failure();
  FuncRole role = getRole();
  StringRef name = stringifyFuncRole(role);
  auto need = [&](bool present, StringRef what) -> LogicalResult {
    if (present)
      return success();
    return emitOpError() << "with role " << name << " expects '" << what << "'";
  };
  FunctionType type = getFunctionType();
  auto scalar = RankedTensorType::get({}, Float32Type::get(getContext()));
  if (type.getNumInputs() == 0 || !isa<KeyType>(type.getInputs().back()))
    return emitOpError() << "expects a !gm.key as its last argument";
  bool takesLatent =
      role == FuncRole::decode || role == FuncRole::generate || role == FuncRole::sample;
  // Data first; then a training step's run-time scalars, or the latent
  // value a decoder maps.
  size_t extra = takesLatent ? 1 : getRuntimeArgNames().size();
  if (getInputs().size() + extra + 1 != type.getNumInputs())
    return emitOpError() << "has " << type.getNumInputs() << " arguments, but "
                         << getInputs().size() << " data input(s), " << extra
                         << " other argument(s) and a key";
  if (failed(verifyDataInputs(*this, getInputs())))
    return failure();
  switch (role) {
  case FuncRole::loss:
  case FuncRole::gradient:
  case FuncRole::train:
    if (failed(need(getStep().has_value(), "step")) ||
        failed(need(getPlayer().has_value(), "player")))
      return failure();
    if (role != FuncRole::train && failed(need(getGroups().has_value(), "groups")))
      return failure();
    if (role != FuncRole::loss && failed(need(getParams().has_value(), "params")))
      return failure();
    if (role == FuncRole::gradient && failed(need(getLoss().has_value(), "loss")))
      return failure();
    if (role == FuncRole::train) {
      if (failed(need(getOptimizer().has_value(), "optimizer")))
        return failure();
      for (Type t : type.getInputs().drop_front(getInputs().size()).drop_back())
        if (t != scalar)
          return emitOpError() << "expects the optimizer's run-time arguments as "
                               << scalar << ", got " << t;
    }
    if (role == FuncRole::gradient &&
        type.getNumResults() != 1 + getParams()->size())
      return emitOpError() << "returns " << type.getNumResults()
                           << " values, but a loss and " << getParams()->size()
                           << " gradient(s) were expected";
    if (role != FuncRole::gradient &&
        (type.getNumResults() != 1 || type.getResult(0) != scalar))
      return emitOpError() << "with role " << name << " expects one "
                           << scalar << " result";
    break;
  case FuncRole::eval:
    if (type.getNumResults() != 1 || type.getResult(0) != scalar)
      return emitOpError() << "with role eval expects one " << scalar << " result";
    break;
  case FuncRole::score:
    if (failed(need(getBound().has_value(), "bound")))
      return failure();
    if (type.getNumResults() != 1 ||
        type.getResult(0) != RankedTensorType::get({ShapedType::kDynamic}, scalar.getElementType()))
      return emitOpError() << "with role score expects one tensor<?xf32> result, one value per "
                              "example";
    break;
  case FuncRole::sample:
    if (type.getNumResults() != 1 || type.getResult(0) != type.getInput(getInputs().size()))
      return emitOpError() << "with role sample expects one result of its uniforms' type";
    break;
  case FuncRole::encode:
  case FuncRole::decode:
  case FuncRole::generate:
    if (failed(need(getLatent().has_value(), "latent")))
      return failure();
    if (type.getNumResults() != 1)
      return emitOpError() << "with role " << name << " expects one result";
    break;
  }
  return success();
}

LogicalResult SizeOp::verify() {
  for (int64_t a : getAxes())
    if (a < 0 || a >= rt(getInput()).getRank())
      return emitOpError() << "axis " << a << " is out of range";
  return success();
}

LogicalResult ReturnOp::verify() {
  auto function = cast<FunctionOpInterface>((*this)->getParentOp());
  ArrayRef<Type> results = function.getResultTypes();
  if (getNumOperands() != results.size())
    return emitOpError() << "has " << getNumOperands()
                         << " operands, but the enclosing function returns "
                         << results.size();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(getOperandTypes(), results)))
    if (std::get<0>(pair) != std::get<1>(pair))
      return emitOpError() << "operand #" << i << " has type "
                           << std::get<0>(pair)
                           << ", but the function returns "
                           << std::get<1>(pair);
  return success();
}

LogicalResult CallOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto fn = dyn_cast_or_null<FunctionOpInterface>(
      tables.lookupNearestSymbolFrom(*this, getCalleeAttr()));
  if (!fn || !isa<NetOp, FuncOp>(fn.getOperation()))
    return emitOpError() << "'" << getCallee() << "' is not a gm.net";
  if (!llvm::equal(fn.getArgumentTypes(), getOperandTypes()) ||
      !llvm::equal(fn.getResultTypes(), getResultTypes()))
    return emitOpError() << "types do not match the signature of @"
                         << getCallee() << ": " << fn.getFunctionType();
  return success();
}

LogicalResult AssignOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto param = lookup<ParamOp>(*this, tables, getNameAttr());
  if (!param)
    return emitOpError() << "'" << getName() << "' is not a gm.param";
  if (param.getType() != getValue().getType())
    return emitOpError() << "writes " << getValue().getType() << " into @"
                         << getName() << " of type " << param.getType();
  return success();
}

LogicalResult ParamRefOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto param = lookup<ParamOp>(*this, tables, getNameAttr());
  if (!param)
    return emitOpError() << "'" << getName() << "' is not a gm.param";
  if (param.getType() != getType())
    return emitOpError() << "has type " << getType() << ", but @" << getName()
                         << " is " << param.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// StepOp, MinimaxOp, ProgressiveOp, ScheduleAlphaOp
//===----------------------------------------------------------------------===//

LogicalResult StepOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (!lookup<ObjectiveOp>(*this, tables, getObjectiveAttr()))
    return emitOpError() << "'" << getObjective() << "' is not a gm.objective";
  llvm::SmallSetVector<StringAttr, 16> params;
  if (failed(collectGroupParams(*this, tables, getGroups(), params)))
    return failure();
  if (params.empty())
    return emitOpError() << "trains no parameters";
  return success();
}

LogicalResult MinimaxOp::verifySymbolUses(SymbolTableCollection &tables) {
  auto value = lookup<ObjectiveOp>(*this, tables, getValueAttr());
  if (!value)
    return emitOpError() << "'" << getValue() << "' is not a gm.objective";
  bool hasAdversarial = false;
  value.walk([&](AdversarialOp) { hasAdversarial = true; });
  if (!hasAdversarial)
    return emitOpError() << "expects its value @" << getValue()
                         << " to contain a gm.adversarial term";
  for (auto extra : {getDiscExtraAttr(), getGenExtraAttr()})
    if (extra && !lookup<ObjectiveOp>(*this, tables, extra))
      return emitOpError() << "'" << extra << "' is not a gm.objective";
  llvm::SmallSetVector<StringAttr, 16> disc, gen;
  if (failed(collectGroupParams(*this, tables, getDiscGroups(), disc)) ||
      failed(collectGroupParams(*this, tables, getGenGroups(), gen)))
    return failure();
  if (disc.empty() || gen.empty())
    return emitOpError() << "expects both players to have parameters";
  for (StringAttr param : disc)
    if (gen.contains(param))
      return emitOpError() << "parameter @" << param.getValue()
                           << " belongs to both the discriminator and the "
                              "generator";
  return success();
}

LogicalResult ProgressiveOp::verify() {
  ArrayRef<int64_t> res = getResolutions();
  if (res.empty())
    return emitOpError() << "expects at least one resolution";
  for (size_t i = 0; i < res.size(); ++i) {
    if (res[i] < 1)
      return emitOpError() << "expects positive resolutions";
    if (i > 0 && res[i] != 2 * res[i - 1])
      return emitOpError() << "expects each resolution to double the previous "
                              "one, got "
                           << res[i - 1] << " then " << res[i];
  }
  if (getEpochsPerStage() < 1)
    return emitOpError() << "expects 'epochs_per_stage' >= 1";
  double fade = getFadeFraction().convertToDouble();
  if (!(fade >= 0 && fade <= 1))
    return emitOpError() << "expects 'fade_fraction' in [0, 1], got " << fade;
  return success();
}

LogicalResult
ScheduleAlphaOp::verifySymbolUses(SymbolTableCollection &tables) {
  if (!lookup<ProgressiveOp>(*this, tables, getScheduleAttr()))
    return emitOpError() << "'" << getSchedule() << "' is not a gm.progressive";
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp, BatchSizeOp, BroadcastOp
//===----------------------------------------------------------------------===//

ParseResult ConstantOp::parse(OpAsmParser &parser, OperationState &result) {
  ElementsAttr value;
  if (parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseAttribute(value, "value", result.attributes))
    return failure();
  result.addTypes(value.getType());
  return success();
}

void ConstantOp::print(OpAsmPrinter &p) {
  p.printOptionalAttrDict((*this)->getAttrs(), {"value"});
  p << ' ';
  p.printAttribute(getValue());
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getType())
    return emitOpError() << "value has type " << getValue().getType()
                         << ", but the result is " << getType();
  return success();
}

LogicalResult BatchSizeOp::verify() {
  return expectBatched(*this, getInput().getType(), "an operand");
}

LogicalResult BroadcastOp::verify() {
  auto in = rt(getInput()), out = rt(getResult());
  if (in.getRank() > out.getRank())
    return emitOpError() << "cannot broadcast " << in << " to the lower rank "
                         << out;
  int64_t offset = out.getRank() - in.getRank();
  for (int64_t i = 0; i < in.getRank(); ++i) {
    int64_t a = in.getDimSize(i), b = out.getDimSize(i + offset);
    if (a != 1 && a != b)
      return emitOpError() << "cannot broadcast " << in << " to " << out;
  }
  if ((int64_t)getDynamicSizes().size() != out.getNumDynamicDims())
    return emitOpError() << "expects " << out.getNumDynamicDims()
                         << " dynamic size(s), got "
                         << getDynamicSizes().size();
  return success();
}

//===----------------------------------------------------------------------===//
// Shape rules
//
// Each op whose result shape follows from its operands and attributes has
// one static inferResultType: its verifier checks the result type against
// it, and MLIRGen builds the op with the type it returns, so a formula is
// written once. Messages continue the prefix of |err| ("'gm.conv2d' op " in
// the verifier, "conv2d " at the .gm source) and print shapes as the .gm
// source writes them (describeShape).
//===----------------------------------------------------------------------===//

std::string mlir::gm::describeShape(Type type) {
  auto t = cast<RankedTensorType>(type);
  ArrayRef<int64_t> dims = t.getShape();
  bool batched = isBatched(t);
  if (batched)
    dims = dims.drop_front();
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  s += "]";
  if (!batched && !dims.empty())
    s += " (unbatched)";
  return s;
}

/// (B, dims...) with the element type |elt|.
static RankedTensorType batchedType(ArrayRef<int64_t> dims, Type elt) {
  SmallVector<int64_t> shape{ShapedType::kDynamic};
  shape.append(dims.begin(), dims.end());
  return RankedTensorType::get(shape, elt);
}

/// A verifier: the result type must be the one the shape rule infers.
static LogicalResult checkInferred(Operation *op, FailureOr<RankedTensorType> inferred,
                                   Type actual) {
  if (failed(inferred))
    return failure();
  if (*inferred != actual)
    return op->emitOpError() << "expects result type " << *inferred << ", got " << actual;
  return success();
}

/// |axis| counts from 0 = the batch; per-example axes only, unless
/// |allowBatch|.
static LogicalResult checkAxis(ShapeError err, int64_t axis, int64_t rank,
                               bool allowBatch = false) {
  if (axis < (allowBatch ? 0 : 1) || axis >= rank)
    return err() << "axis " << axis << " is out of range for rank " << rank
                 << (allowBatch ? "" : " (axis 0 is the batch)");
  return success();
}

/// |t| is (B, ...) with |rank| dimensions in all, else an error naming
/// |what| it should be and the |hint| to get there.
static LogicalResult checkBatched(ShapeError err, RankedTensorType t, int64_t rank,
                                  StringRef what, StringRef hint = "") {
  if (!isBatched(t) || (rank >= 0 && t.getRank() != rank)) {
    InFlightDiagnostic d = err();
    d << "expects " << what << ", got " << describeShape(t);
    if (!hint.empty())
      d << "; " << hint;
    return d;
  }
  return success();
}

static LogicalResult checkShape(ShapeError err, RankedTensorType t, StringRef what,
                                ArrayRef<int64_t> shape) {
  if (t.getShape() != shape)
    return err() << "expects " << what << " of shape "
                 << describeShape(RankedTensorType::get(shape, t.getElementType())) << ", got "
                 << describeShape(t);
  return success();
}

static LogicalResult checkPair(ShapeError err, ArrayRef<int64_t> v, StringRef name,
                               int64_t min) {
  if (v.size() != 2 || v[0] < min || v[1] < min)
    return err() << "expects '" << name << "' to be two integers >= " << min;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}
LogicalResult LogSoftmaxOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}
LogicalResult ShiftOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}

LogicalResult ReshapeOp::verify() {
  // Batched to batched (the batch is kept), or static to static (gradients
  // of parameters); never one to the other.
  auto in = rt(getInput()), out = rt(getResult());
  if (in.hasStaticShape() && out.hasStaticShape()) {
    if (in.getNumElements() != out.getNumElements())
      return emitOpError() << "cannot reshape " << in << " to " << out;
    return success();
  }
  if (failed(expectBatched(*this, in, "an operand")) ||
      failed(expectBatched(*this, out, "a result")))
    return failure();
  auto count = [](RankedTensorType t) {
    int64_t n = 1;
    for (int64_t d : t.getShape().drop_front())
      n *= d;
    return n;
  };
  if (count(in) != count(out))
    return emitOpError() << "cannot reshape " << describeShape(in) << " (" << count(in)
                         << " elements) to " << describeShape(out) << " (" << count(out) << ")";
  return success();
}

FailureOr<RankedTensorType> TransposeOp::inferResultType(ShapeError err, RankedTensorType in,
                                                         ArrayRef<int64_t> perm) {
  if ((int64_t)perm.size() != in.getRank())
    return err() << "expects a permutation of " << in.getRank() << " dimensions";
  llvm::SmallSet<int64_t, 8> seen;
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || !seen.insert(p).second)
      return err() << "expects a permutation of " << in.getRank() << " dimensions";
    shape.push_back(in.getDimSize(p));
  }
  return RankedTensorType::get(shape, in.getElementType());
}
LogicalResult TransposeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       getPermutation()),
                       getType());
}

FailureOr<RankedTensorType> ConcatOp::inferResultType(ShapeError err, TypeRange inputs,
                                                      int64_t axis) {
  if (inputs.empty())
    return err() << "expects at least one input";
  auto first = rt(inputs.front());
  if (failed(checkAxis(err, axis, first.getRank())))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Type input : inputs.drop_front()) {
    auto t = rt(input);
    bool agree = t.getRank() == first.getRank() && t.getElementType() == first.getElementType();
    for (int64_t i = 0; agree && i < t.getRank(); ++i)
      agree = i == axis || t.getDimSize(i) == first.getDimSize(i);
    if (!agree)
      return err() << "cannot concatenate " << describeShape(first) << " and "
                   << describeShape(t) << " along axis " << axis;
    shape[axis] += t.getDimSize(axis);
  }
  return RankedTensorType::get(shape, first.getElementType());
}
LogicalResult ConcatOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); },
                                       getInputs().getTypes(), getAxis()),
                       getType());
}

FailureOr<RankedTensorType> SliceOp::inferResultType(ShapeError err, RankedTensorType in,
                                                     int64_t axis, int64_t start, int64_t size) {
  if (failed(checkAxis(err, axis, in.getRank())))
    return failure();
  if (start < 0 || size < 1 || start + size > in.getDimSize(axis))
    return err() << "slice [" << start << ", " << start + size
                 << ") is out of bounds for an axis of size " << in.getDimSize(axis);
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = size;
  return RankedTensorType::get(shape, in.getElementType());
}
LogicalResult SliceOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       getAxis(), getStart(), getSize()),
                       getType());
}

/// The shape rule of sum and mean.
static FailureOr<RankedTensorType> inferReduce(ShapeError err, RankedTensorType in,
                                               ArrayRef<int64_t> axes) {
  if (axes.empty())
    return err() << "expects at least one axis";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(checkAxis(err, axes[i], in.getRank(), /*allowBatch=*/true)))
      return failure();
    if (i > 0 && axes[i] <= axes[i - 1])
      return err() << "expects strictly increasing axes";
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (!llvm::is_contained(axes, i))
      shape.push_back(in.getDimSize(i));
  return RankedTensorType::get(shape, in.getElementType());
}
FailureOr<RankedTensorType> SumOp::inferResultType(ShapeError err, RankedTensorType in,
                                                   ArrayRef<int64_t> axes) {
  return inferReduce(err, in, axes);
}
FailureOr<RankedTensorType> MeanOp::inferResultType(ShapeError err, RankedTensorType in,
                                                    ArrayRef<int64_t> axes) {
  return inferReduce(err, in, axes);
}
LogicalResult SumOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getAxes()),
      getType());
}
LogicalResult MeanOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getAxes()),
      getType());
}

/// The shape rule of upsample (|up|) and avg_pool.
static FailureOr<RankedTensorType> inferResample(ShapeError err, RankedTensorType in,
                                                 int64_t factor, bool up) {
  if (failed(checkBatched(err, in, 4, "(batch, channels, height, width) images")))
    return failure();
  int64_t h = in.getDimSize(2), w = in.getDimSize(3);
  if (factor < 1)
    return err() << "expects a positive factor, got " << factor;
  if (!up && (h % factor || w % factor))
    return err() << "needs height and width divisible by " << factor << ", got "
                 << describeShape(in);
  int64_t oh = up ? h * factor : h / factor, ow = up ? w * factor : w / factor;
  return batchedType({in.getDimSize(1), oh, ow}, in.getElementType());
}
FailureOr<RankedTensorType> UpsampleOp::inferResultType(ShapeError err, RankedTensorType in,
                                                        int64_t factor) {
  return inferResample(err, in, factor, true);
}
FailureOr<RankedTensorType> AvgPoolOp::inferResultType(ShapeError err, RankedTensorType in,
                                                       int64_t factor) {
  return inferResample(err, in, factor, false);
}
LogicalResult UpsampleOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getFactor()),
      getType());
}
LogicalResult AvgPoolOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getFactor()),
      getType());
}

FailureOr<RankedTensorType> OneHotOp::inferResultType(ShapeError err, RankedTensorType ids,
                                                      int64_t classes) {
  if (classes < 1)
    return err() << "expects a positive number of classes, got " << classes;
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(classes);
  return RankedTensorType::get(shape, Float32Type::get(ids.getContext()));
}
LogicalResult OneHotOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getIds()), getClasses()),
      getType());
}

//===----------------------------------------------------------------------===//
// Shape rules: layers
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> MatmulOp::inferResultType(ShapeError err, RankedTensorType a,
                                                      RankedTensorType b) {
  if (a.getRank() != 2 || b.getRank() != 2)
    return err() << "expects rank-2 operands, got " << a << " and " << b;
  if (a.getDimSize(1) != b.getDimSize(0))
    return err() << "contracting dimensions differ: " << a << " and " << b;
  return RankedTensorType::get({a.getDimSize(0), b.getDimSize(1)}, a.getElementType());
}
LogicalResult MatmulOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getLhs()), rt(getRhs())),
      getType());
}

/// linear and masked_linear: (B, IN) x (OUT, IN) [+ (OUT)] -> (B, OUT).
static FailureOr<RankedTensorType> inferAffine(ShapeError err, RankedTensorType x,
                                               RankedTensorType w, RankedTensorType bias) {
  if (failed(checkBatched(err, x, 2, "a (batch, features) input", "flatten it first")))
    return failure();
  if (w.getRank() != 2 || w.getDimSize(1) != x.getDimSize(1))
    return err() << "expects a weight [OUT, " << x.getDimSize(1) << "], got "
                 << describeShape(w);
  if (bias && failed(checkShape(err, bias, "a bias", {w.getDimSize(0)})))
    return failure();
  return batchedType({w.getDimSize(0)}, x.getElementType());
}
FailureOr<RankedTensorType> LinearOp::inferResultType(ShapeError err, RankedTensorType x,
                                                      RankedTensorType w, RankedTensorType b) {
  return inferAffine(err, x, w, b);
}
FailureOr<RankedTensorType> MaskedLinearOp::inferResultType(ShapeError err, RankedTensorType x,
                                                            RankedTensorType w,
                                                            RankedTensorType b) {
  return inferAffine(err, x, w, b);
}
static RankedTensorType typeOrNull(Value v) { return v ? rt(v) : RankedTensorType(); }
LogicalResult LinearOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}
LogicalResult MaskedLinearOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}

/// (B, C, H, W) input, (O, C, KH, KW) (or (C, O, KH, KW) when |transposed|)
/// weight, (O) bias; sets O, KH, KW.
static LogicalResult checkConvOperands(ShapeError err, RankedTensorType x, RankedTensorType w,
                                       RankedTensorType bias, bool transposed, int64_t &outC,
                                       int64_t &kh, int64_t &kw) {
  if (failed(checkBatched(err, x, 4, "(batch, channels, height, width) images",
                          "reshape it first")))
    return failure();
  if (w.getRank() != 4)
    return err() << "expects a rank-4 weight, got " << describeShape(w);
  int64_t inC = transposed ? w.getDimSize(0) : w.getDimSize(1);
  outC = transposed ? w.getDimSize(1) : w.getDimSize(0);
  kh = w.getDimSize(2);
  kw = w.getDimSize(3);
  if (inC != x.getDimSize(1))
    return err() << "weight " << describeShape(w) << " expects " << inC
                 << " input channels, got " << describeShape(x);
  if (bias && failed(checkShape(err, bias, "a bias", {outC})))
    return failure();
  return success();
}

FailureOr<RankedTensorType> Conv2DOp::inferResultType(ShapeError err, RankedTensorType x,
                                                      RankedTensorType w, RankedTensorType bias,
                                                      ArrayRef<int64_t> stride,
                                                      ArrayRef<int64_t> padding) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, false, o, kh, kw)) ||
      failed(checkPair(err, stride, "stride", 1)) || failed(checkPair(err, padding, "padding", 0)))
    return failure();
  int64_t h = x.getDimSize(2) + 2 * padding[0] - kh, wd = x.getDimSize(3) + 2 * padding[1] - kw;
  if (h < 0 || wd < 0)
    return err() << "kernel " << kh << "x" << kw << " is larger than the padded input "
                 << describeShape(x);
  return batchedType({o, h / stride[0] + 1, wd / stride[1] + 1}, x.getElementType());
}
LogicalResult Conv2DOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias()), getStride(),
                                       getPadding()),
                       getType());
}

FailureOr<RankedTensorType>
Conv2DTransposeOp::inferResultType(ShapeError err, RankedTensorType x, RankedTensorType w,
                                   RankedTensorType bias, ArrayRef<int64_t> stride,
                                   ArrayRef<int64_t> padding, ArrayRef<int64_t> outputPadding) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, true, o, kh, kw)) ||
      failed(checkPair(err, stride, "stride", 1)) ||
      failed(checkPair(err, padding, "padding", 0)) ||
      failed(checkPair(err, outputPadding, "output_padding", 0)))
    return failure();
  int64_t h = (x.getDimSize(2) - 1) * stride[0] - 2 * padding[0] + kh + outputPadding[0];
  int64_t wd = (x.getDimSize(3) - 1) * stride[1] - 2 * padding[1] + kw + outputPadding[1];
  if (h < 1 || wd < 1)
    return err() << "output would be empty for input " << describeShape(x);
  return batchedType({o, h, wd}, x.getElementType());
}
LogicalResult Conv2DTransposeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias()), getStride(),
                                       getPadding(), getOutputPadding()),
                       getType());
}

FailureOr<RankedTensorType> MaskedConv2DOp::inferResultType(ShapeError err, RankedTensorType x,
                                                            RankedTensorType w,
                                                            RankedTensorType bias) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, false, o, kh, kw)))
    return failure();
  if (kh % 2 == 0 || kw % 2 == 0)
    return err() << "needs an odd kernel, got " << kh << "x" << kw;
  return batchedType({o, x.getDimSize(2), x.getDimSize(3)}, x.getElementType());
}
LogicalResult MaskedConv2DOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}

FailureOr<RankedTensorType> BatchNormOp::inferResultType(ShapeError err, RankedTensorType x,
                                                         RankedTensorType gamma,
                                                         RankedTensorType beta) {
  if (failed(checkBatched(err, x, -1, "(batch, channels, ...)")) ||
      (x.getRank() < 2 && failed(checkBatched(err, x, 2, "(batch, channels, ...)"))))
    return failure();
  int64_t c = x.getDimSize(1);
  if (failed(checkShape(err, gamma, "gamma", {c})) || failed(checkShape(err, beta, "beta", {c})))
    return failure();
  return x;
}
LogicalResult BatchNormOp::verify() {
  if (!(getEps().convertToDouble() > 0))
    return emitOpError() << "expects a positive 'eps'";
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getGamma()), rt(getBeta())),
                       getType());
}

FailureOr<RankedTensorType> EmbeddingOp::inferResultType(ShapeError err, RankedTensorType ids,
                                                         RankedTensorType table) {
  if (!ids.getElementType().isInteger(32) || !isBatched(ids) || ids.getRank() != 2)
    return err() << "expects token ids (batch, tokens), got " << describeShape(ids);
  if (table.getRank() != 2)
    return err() << "expects a table [V, E], got " << describeShape(table);
  return batchedType({ids.getDimSize(1), table.getDimSize(1)}, table.getElementType());
}
LogicalResult EmbeddingOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getIds()), rt(getTable())),
      getType());
}

FailureOr<RankedTensorType> LSTMCellOp::inferResultType(ShapeError err, RankedTensorType x,
                                                        RankedTensorType h, RankedTensorType c,
                                                        RankedTensorType wIh,
                                                        RankedTensorType wHh,
                                                        RankedTensorType bias) {
  if (failed(checkBatched(err, x, 2, "a (batch, features) input")) ||
      failed(checkBatched(err, h, 2, "a (batch, hidden) state h")))
    return failure();
  if (c != h)
    return err() << "expects h and c of one (batch, hidden) shape, got " << describeShape(h)
                 << " and " << describeShape(c);
  int64_t in = x.getDimSize(1), hid = h.getDimSize(1);
  if (failed(checkShape(err, wIh, "w_ih", {4 * hid, in})) ||
      failed(checkShape(err, wHh, "w_hh", {4 * hid, hid})) ||
      failed(checkShape(err, bias, "a bias", {4 * hid})))
    return failure();
  return h;
}
LogicalResult LSTMCellOp::verify() {
  auto t = inferResultType([&] { return emitOpError(); }, rt(getInput()), rt(getH()), rt(getC()),
                           rt(getWIh()), rt(getWHh()), rt(getBias()));
  if (failed(checkInferred(*this, t, getHNext().getType())))
    return failure();
  return checkInferred(*this, t, getCNext().getType());
}

FailureOr<RankedTensorType> RowLSTMOp::inferResultType(ShapeError err, RankedTensorType x,
                                                       RankedTensorType wis,
                                                       RankedTensorType wss,
                                                       RankedTensorType bias) {
  if (failed(checkBatched(err, x, 4, "(batch, channels, rows, columns) images")))
    return failure();
  if (wis.getRank() != 4 || wis.getDimSize(0) % 4 != 0 || wis.getDimSize(1) != x.getDimSize(1) ||
      wis.getDimSize(2) != 1 || wis.getDimSize(3) % 2 == 0)
    return err() << "expects w_is [4H, " << x.getDimSize(1) << ", 1, K] with odd K, got "
                 << describeShape(wis);
  int64_t hid = wis.getDimSize(0) / 4, k = wis.getDimSize(3);
  if (failed(checkShape(err, wss, "w_ss", {4 * hid, hid, 1, k})) ||
      failed(checkShape(err, bias, "a bias", {4 * hid})))
    return failure();
  return batchedType({hid, x.getDimSize(2), x.getDimSize(3)}, x.getElementType());
}
LogicalResult RowLSTMOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWIs()), rt(getWSs()), rt(getBias())),
                       getType());
}

FailureOr<RankedTensorType> NadeOp::inferResultType(ShapeError err, RankedTensorType x,
                                                    RankedTensorType w, RankedTensorType c,
                                                    RankedTensorType v, RankedTensorType b) {
  if (failed(checkBatched(err, x, 2, "a (batch, pixels) input", "flatten it first")))
    return failure();
  int64_t d = x.getDimSize(1);
  if (w.getRank() != 2 || w.getDimSize(1) != d)
    return err() << "expects W [H, " << d << "], got " << describeShape(w);
  int64_t h = w.getDimSize(0);
  if (failed(checkShape(err, c, "c", {h})) || failed(checkShape(err, v, "V", {d, h})) ||
      failed(checkShape(err, b, "b", {d})))
    return failure();
  return x;
}
LogicalResult NadeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()), rt(getW()),
                                       rt(getC()), rt(getV()), rt(getB())),
                       getType());
}

LogicalResult Conv2DWeightGradOp::verify() {
  auto x = rt(getInput()), g = rt(getGrad()), w = rt(getType());
  if (x.getRank() != 4 || g.getRank() != 4 || w.getRank() != 4 ||
      !w.hasStaticShape())
    return emitOpError() << "expects (B, C, H, W) input and grad and a static "
                            "(O, C, KH, KW) result";
  if (w.getDimSize(0) != g.getDimSize(1) || w.getDimSize(1) != x.getDimSize(1))
    return emitOpError() << "result " << w << " does not match input " << x
                         << " and grad " << g;
  ShapeError err = [&] { return emitOpError(); };
  if (failed(checkPair(err, getStride(), "stride", 1)) ||
      failed(checkPair(err, getPadding(), "padding", 0)))
    return failure();
  return success();
}

LogicalResult HostConv2DOp::verify() {
  auto a = rt(getA()), b = rt(getB()), out = rt(getType());
  if (a.getRank() != 4 || b.getRank() != 4 || out.getRank() != 4)
    return emitOpError() << "expects rank-4 operands and result";
  if (getKind() < GM_CONV_FORWARD || getKind() > GM_CONV_BACKWARD_WEIGHTS)
    return emitOpError() << "kind " << getKind() << " is not a gmrt_conv2d direction";
  ShapeError err = [&] { return emitOpError(); };
  if (failed(checkPair(err, getStride(), "stride", 1)) ||
      failed(checkPair(err, getPadding(), "padding", 0)))
    return failure();
  // The underlying convolution src * weights -> dst (abi.h).
  RankedTensorType src = getKind() == GM_CONV_BACKWARD_DATA ? out : a;
  RankedTensorType weights = getKind() == GM_CONV_BACKWARD_WEIGHTS ? out : b;
  RankedTensorType dst = getKind() == GM_CONV_FORWARD        ? out
                         : getKind() == GM_CONV_BACKWARD_DATA ? a
                                                              : b;
  if (!weights.hasStaticShape() || src.getDimSize(1) != weights.getDimSize(1) ||
      dst.getDimSize(1) != weights.getDimSize(0) || src.getDimSize(0) != dst.getDimSize(0))
    return emitOpError() << "src " << src << ", weights " << weights << " and dst " << dst
                         << " are not one convolution";
  for (int d = 0; d < 2; ++d) {
    // What the last window reads past the input, the bottom/right padding:
    // none left out, and no window wholly in the padding.
    int64_t past = (dst.getDimSize(2 + d) - 1) * getStride()[d] + weights.getDimSize(2 + d) -
                   src.getDimSize(2 + d) - getPadding()[d];
    if (past < 0 || past >= weights.getDimSize(2 + d))
      return emitOpError() << "dst " << dst << " is not what src " << src << " gives with "
                           << "weights " << weights << ", this stride and padding";
  }
  return success();
}

LogicalResult EmbeddingGradOp::verify() {
  auto ids = rt(getIds()), g = rt(getGrad()), t = rt(getType());
  if (ids.getRank() != 2 || g.getRank() != 3 || t.getRank() != 2 ||
      !t.hasStaticShape() || g.getDimSize(2) != t.getDimSize(1) ||
      g.getDimSize(1) != ids.getDimSize(1))
    return emitOpError() << "expects ids (B, T), grad (B, T, E) and a (V, E) "
                            "result, got "
                         << ids << ", " << g << " and " << t;
  return success();
}

LogicalResult RowLSTMGradOp::verify() {
  Value ins[] = {getInput(), getWIs(), getWSs(), getBias()};
  for (auto [in, out] : llvm::zip(ins, getResults()))
    if (in.getType() != out.getType())
      return emitOpError() << "expects each adjoint to have the type of its "
                              "operand, got "
                           << out.getType() << " for " << in.getType();
  return success();
}

LogicalResult NadeGradOp::verify() {
  if (getGrad().getType() != getInput().getType())
    return emitOpError() << "expects the adjoint of the logits to have the "
                            "type of x";
  Value ins[] = {getInput(), getW(), getC(), getV(), getB()};
  for (auto [in, out] : llvm::zip(ins, getResults()))
    if (in.getType() != out.getType())
      return emitOpError() << "expects each adjoint to have the type of its "
                              "operand, got "
                           << out.getType() << " for " << in.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Stochastic nodes
//===----------------------------------------------------------------------===//

static LogicalResult verifyDistResult(Operation *op, Type result,
                                      DistKind kind, Type sampleType) {
  auto dist = cast<DistType>(result);
  if (dist.getKind() != kind)
    return op->emitOpError() << "expects a result of kind "
                             << stringifyDistKind(kind) << ", got " << dist;
  if (dist.getSampleType() != sampleType)
    return op->emitOpError() << "expects samples of type " << sampleType
                             << ", got " << dist;
  return success();
}

LogicalResult NormalOp::verify() {
  return verifyDistResult(*this, getType(), DistKind::normal,
                          getLoc().getType());
}
LogicalResult BernoulliOp::verify() {
  return verifyDistResult(*this, getType(), DistKind::bernoulli,
                          getLogits().getType());
}
LogicalResult CategoricalOp::verify() {
  return verifyDistResult(*this, getType(), DistKind::categorical,
                          getLogits().getType());
}
LogicalResult UniformOp::verify() {
  return verifyDistResult(*this, getType(), DistKind::uniform,
                          getLow().getType());
}

LogicalResult MixtureNormalOp::verify() {
  auto logits = rt(getLogits()), means = rt(getMeans());
  if (logits.getRank() != 2 || !isBatched(logits))
    return emitOpError() << "expects logits (B, K), got " << logits;
  if (means.getRank() != 3 || !isBatched(means) ||
      means.getDimSize(1) != logits.getDimSize(1))
    return emitOpError() << "expects means (B, " << logits.getDimSize(1)
                         << ", D), got " << means;
  if (getLogvars().getType() != means)
    return emitOpError() << "expects logvars of the type of the means, "
                         << means;
  auto sample = RankedTensorType::get(
      {ShapedType::kDynamic, means.getDimSize(2)}, means.getElementType());
  return verifyDistResult(*this, getType(), DistKind::mixture_normal, sample);
}

LogicalResult SampleOp::verify() {
  auto dist = cast<DistType>(getDist().getType());
  if (dist.getSampleType() != getType())
    return emitOpError() << "expects result type " << dist.getSampleType()
                         << ", got " << getType();
  if (getEstimator() == Estimator::reparam &&
      !isReparameterizable(dist.getKind()))
    return emitOpError() << "cannot reparameterise a "
                         << stringifyDistKind(dist.getKind())
                         << " distribution; use score_function or none";
  return success();
}

//===----------------------------------------------------------------------===//
// Densities and divergences
//===----------------------------------------------------------------------===//

LogicalResult LogProbOp::verify() {
  auto dist = cast<DistType>(getDist().getType());
  if (dist.getSampleType() != getValue().getType())
    return emitOpError() << "value has type " << getValue().getType()
                         << ", but the distribution is over "
                         << dist.getSampleType();
  return success();
}

LogicalResult KLOp::verify() {
  auto q = cast<DistType>(getQ().getType()), p = cast<DistType>(getP().getType());
  if (q.getSampleType() != p.getSampleType())
    return emitOpError() << "expects distributions over one type, got " << q
                         << " and " << p;
  StringRef why = klIncompatibility(q.getKind(), p.getKind());
  if (!why.empty())
    return emitOpError() << "KL(" << stringifyDistKind(q.getKind()) << " || "
                         << stringifyDistKind(p.getKind())
                         << ") is undefined: " << why;
  if (getMethod() == KLMethod::analytic) {
    if (!hasAnalyticKL(q.getKind(), p.getKind()))
      return emitOpError() << "has no analytic form for KL("
                           << stringifyDistKind(q.getKind()) << " || "
                           << stringifyDistKind(p.getKind())
                           << "); use monte_carlo";
    if (getSample())
      return emitOpError() << "takes no sample when analytic";
  } else if (!getSample() || getSample().getType() != q.getSampleType()) {
    return emitOpError() << "expects a sample of type " << q.getSampleType()
                         << " drawn from q when monte_carlo";
  }
  return success();
}

LogicalResult ElboOp::verify() {
  double beta = getBeta().convertToDouble();
  if (!(beta >= 0))
    return emitOpError() << "expects a non-negative 'beta', got " << beta;
  return success();
}

LogicalResult IwaeOp::verify() {
  auto q = cast<DistType>(getQ().getType()), p = cast<DistType>(getP().getType());
  if (q.getSampleType() != p.getSampleType())
    return emitOpError() << "expects q and p over one type, got " << q
                         << " and " << p;
  Block &block = getBody().front();
  if (block.getNumArguments() != 1 ||
      block.getArgument(0).getType() != q.getSampleType())
    return emitOpError() << "expects its region to take one "
                         << q.getSampleType() << " sample";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  auto yt = yield ? dyn_cast<RankedTensorType>(yield.getValue().getType()) : RankedTensorType();
  if (!yt || yt.getRank() != 1 || !isBatched(yt))
    return emitOpError() << "expects its region to yield one value per example";
  return success();
}

LogicalResult ArSampleOp::verify() {
  Type t = getUniforms().getType();
  if (getType() != t)
    return emitOpError() << "expects a result of its uniforms' type " << t << ", got "
                         << getType();
  if (!isBatched(rt(getUniforms())))
    return emitOpError() << "expects batched uniforms, got " << t;
  Block &block = getBody().front();
  if (block.getNumArguments() != 1 || block.getArgument(0).getType() != t)
    return emitOpError() << "expects its region to take one " << t << " sample";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || yield.getValue().getType() != t)
    return emitOpError() << "expects its region to yield one logit per value, " << t;
  return success();
}

static LogicalResult verifyLogits(Operation *op, Value value) {
  auto t = rt(value);
  if (!isBatched(t) || t.getRank() > 2 || (t.getRank() == 2 && t.getDimSize(1) != 1))
    return op->emitOpError() << "expects one logit per example, (B) or (B, 1), got "
                             << t;
  return success();
}

LogicalResult AdversarialOp::verify() {
  return failure(failed(verifyLogits(*this, getReal())) ||
                 failed(verifyLogits(*this, getFake())));
}

LogicalResult MutualInfoOp::verify() {
  auto q = cast<DistType>(getPosterior().getType());
  auto p = cast<DistType>(getPrior().getType());
  if (q.getSampleType() != getCode().getType() ||
      p.getSampleType() != getCode().getType())
    return emitOpError() << "expects posterior, code and prior over one type, "
                            "got "
                         << q << ", " << getCode().getType() << " and " << p;
  return success();
}

//===----------------------------------------------------------------------===//
// Gradient rules (DifferentiableOpInterface)
//
// Each rule builds the vector-Jacobian product of its op in gm IR. `g` is
// the adjoint of the result; a null result adjoint means zero, and then the
// op contributes nothing (the autodiff pass does not call the rule).
//===----------------------------------------------------------------------===//

/// The rules build with the shared helpers (GMBuilder.h).
using Grad = GMBuilder;

#define GM_SIMPLE_VJP(OpT, BODY)                                               \
  LogicalResult OpT::buildVJP(OpBuilder &b, ArrayRef<Value> adj,               \
                              SmallVectorImpl<Value> &out) {                   \
    Grad G(b, getLoc());                                                       \
    Value g = adj[0];                                                          \
    (void)G;                                                                   \
    BODY;                                                                      \
    return success();                                                          \
  }

// d(a + b) = (g, g); d(a - b) = (g, -g); d(a b) = (g b, g a);
// d(a / b) = (g / b, -g a / b^2).
GM_SIMPLE_VJP(AddOp, out.append({g, g}))
GM_SIMPLE_VJP(SubOp, out.append({g, G.neg(g)}))
GM_SIMPLE_VJP(MulOp, out.append({G.mul(g, getRhs()), G.mul(g, getLhs())}))
GM_SIMPLE_VJP(DivOp, out.append({G.div(g, getRhs()),
                                 G.neg(G.div(G.mul(g, getResult()), getRhs()))}))
GM_SIMPLE_VJP(NegOp, out.push_back(G.neg(g)))
// exp' = exp; log' = 1 / x; sqrt' = 1 / (2 sqrt); (x^2)' = 2x; |x|' = sign x.
GM_SIMPLE_VJP(ExpOp, out.push_back(G.mul(g, getResult())))
GM_SIMPLE_VJP(LogOp, out.push_back(G.div(g, getInput())))
GM_SIMPLE_VJP(SqrtOp, out.push_back(G.div(G.scale(g, 0.5), getResult())))
GM_SIMPLE_VJP(SquareOp, out.push_back(G.scale(G.mul(g, getInput()), 2.0)))
GM_SIMPLE_VJP(AbsOp, out.push_back(G.mul(g, b.create<SignOp>(getLoc(), getInput()))))
// tanh' = 1 - y^2; sigmoid' = y (1 - y); softplus' = sigmoid;
// log_sigmoid' = sigmoid(-x) = 1 - sigmoid(x).
GM_SIMPLE_VJP(TanhOp, out.push_back(G.mul(g, G.sub(G.fill(1, g),
                                                   G.mul(getResult(), getResult())))))
GM_SIMPLE_VJP(SigmoidOp, out.push_back(G.mul(g, G.mul(getResult(),
                                        G.sub(G.fill(1, g), getResult())))))
GM_SIMPLE_VJP(SoftplusOp, out.push_back(G.mul(g, b.create<SigmoidOp>(getLoc(), getInput()))))
GM_SIMPLE_VJP(LogSigmoidOp,
              out.push_back(G.mul(g, G.sub(G.fill(1, g),
                                           b.create<SigmoidOp>(getLoc(), getInput())))))
// relu' = [x > 0] = sign(relu(x)); the kink at 0 gets 0.
GM_SIMPLE_VJP(ReluOp, out.push_back(G.mul(g, b.create<SignOp>(getLoc(), getResult()))))
// sign and stop_gradient pass nothing back.
LogicalResult SignOp::buildVJP(OpBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &out) {
  out.push_back(Value());
  return success();
}
LogicalResult StopGradientOp::buildVJP(OpBuilder &, ArrayRef<Value>,
                                       SmallVectorImpl<Value> &out) {
  out.push_back(Value());
  return success();
}

LogicalResult LeakyReluOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // alpha + (1 - alpha) [x > 0], with [x > 0] = sign(relu(x)).
  Grad G(b, getLoc());
  double a = getAlpha().convertToDouble();
  Value positive = b.create<SignOp>(getLoc(), b.create<ReluOp>(getLoc(), getInput()));
  Value slope = G.add(G.fill(a, positive), G.scale(positive, 1 - a));
  out.push_back(G.mul(adj[0], slope));
  return success();
}

LogicalResult EluOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                              SmallVectorImpl<Value> &out) {
  // 1 for x > 0, else alpha exp(x) = y + alpha: p + (1 - p)(y + alpha) with
  // p = [x > 0] = sign(relu(x)).
  Grad G(b, getLoc());
  double a = getAlpha().convertToDouble();
  Value y = getResult();
  Value positive = b.create<SignOp>(getLoc(), b.create<ReluOp>(getLoc(), getInput()));
  Value negative = G.sub(G.fill(1, positive), positive);
  Value slope = G.add(positive, G.mul(negative, G.add(y, G.fill(a, y))));
  out.push_back(G.mul(adj[0], slope));
  return success();
}

LogicalResult SoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  // dx = y (g - sum_axis(g y)).
  Grad G(b, getLoc());
  Value y = getResult(), g = adj[0];
  int64_t axis = getAxis();
  Value s = G.expand(G.sum(G.mul(g, y), {axis}), {axis}, y);
  out.push_back(G.mul(y, G.sub(g, s)));
  return success();
}

LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                     SmallVectorImpl<Value> &out) {
  // dx = g - exp(y) sum_axis(g).
  Grad G(b, getLoc());
  Value y = getResult(), g = adj[0];
  int64_t axis = getAxis();
  Value s = G.expand(G.sum(g, {axis}), {axis}, y);
  out.push_back(G.sub(g, G.mul(b.create<ExpOp>(getLoc(), y), s)));
  return success();
}

LogicalResult FadeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  // (1 - alpha) g, alpha g; alpha is a schedule, not learned.
  Grad G(b, getLoc());
  Value a = G.broadcastTo(getAlpha(), rt(getLow()), getLow());
  out.push_back(G.mul(adj[0], G.sub(G.fill(1, a), a)));
  out.push_back(G.mul(adj[0], a));
  out.push_back(Value());
  return success();
}

LogicalResult BroadcastOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  out.push_back(G.sumTo(adj[0], rt(getInput())));
  for (size_t i = 0; i < getDynamicSizes().size(); ++i)
    out.push_back(Value());
  return success();
}

GM_SIMPLE_VJP(ReshapeOp, out.push_back(G.reshape(g, rt(getInput()))))

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  out.push_back(G.transpose(adj[0], inverse));
  return success();
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // Each input gets its slice of g.
  int64_t axis = getAxis(), offset = 0;
  for (Value in : getInputs()) {
    int64_t size = rt(in).getDimSize(axis);
    out.push_back(b.create<SliceOp>(getLoc(), in.getType(), adj[0],
                                    b.getI64IntegerAttr(axis),
                                    b.getI64IntegerAttr(offset),
                                    b.getI64IntegerAttr(size)));
    offset += size;
  }
  return success();
}

LogicalResult SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                SmallVectorImpl<Value> &out) {
  // g placed at [start, start + size) along the axis, zeros around it.
  Grad G(b, getLoc());
  auto in = rt(getInput());
  int64_t axis = getAxis(), start = getStart(), size = getSize();
  int64_t after = in.getDimSize(axis) - start - size;
  SmallVector<Value> parts;
  auto zeros = [&](int64_t n) {
    SmallVector<int64_t> shape(in.getShape());
    shape[axis] = n;
    auto type = RankedTensorType::get(shape, b.getF32Type());
    auto scalarType = RankedTensorType::get({}, b.getF32Type());
    Value c = b.create<ConstantOp>(getLoc(), scalarType,
                                   DenseElementsAttr::get(scalarType, 0.0f));
    return G.broadcastTo(c, type, getInput());
  };
  if (start > 0)
    parts.push_back(zeros(start));
  parts.push_back(adj[0]);
  if (after > 0)
    parts.push_back(zeros(after));
  out.push_back(parts.size() == 1
                    ? parts[0]
                    : b.create<ConcatOp>(getLoc(), in, parts,
                                         b.getI64IntegerAttr(axis))
                          .getResult());
  return success();
}

GM_SIMPLE_VJP(ShiftOp, out.push_back(b.create<ShiftOp>(
                           getLoc(), g, b.getI64IntegerAttr(getAxis()),
                           b.getI64IntegerAttr(-getAmount()))))

GM_SIMPLE_VJP(SumOp, out.push_back(G.expand(g, getAxes(), getInput())))

LogicalResult MeanOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  // The sum's rule divided by the (possibly dynamic) count.
  Grad G(b, getLoc());
  Value n = b.create<SizeOp>(getLoc(), getInput(), getAxes());
  Value scaled = G.div(adj[0], G.broadcastTo(n, rt(adj[0]), adj[0]));
  out.push_back(G.expand(scaled, getAxes(), getInput()));
  return success();
}

LogicalResult UpsampleOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                   SmallVectorImpl<Value> &out) {
  // Each input pixel fed factor^2 outputs: sum-pool the adjoint.
  Grad G(b, getLoc());
  int64_t f = getFactor();
  Value pooled = b.create<AvgPoolOp>(getLoc(), getInput().getType(), adj[0],
                                     b.getI64IntegerAttr(f));
  out.push_back(G.scale(pooled, (double)(f * f)));
  return success();
}

LogicalResult AvgPoolOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  Grad G(b, getLoc());
  int64_t f = getFactor();
  Value up = b.create<UpsampleOp>(getLoc(), getInput().getType(), adj[0],
                                  b.getI64IntegerAttr(f));
  out.push_back(G.scale(up, 1.0 / (double)(f * f)));
  return success();
}

LogicalResult MatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // C = A B: dA = g B^T, dB = A^T g.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<MatmulOp>(getLoc(), getLhs().getType(), g,
                                   G.transpose(getRhs(), {1, 0})));
  out.push_back(b.create<MatmulOp>(getLoc(), getRhs().getType(),
                                   G.transpose(getLhs(), {1, 0}), g));
  return success();
}

LogicalResult LinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // y = x W^T + b: dx = g W (B, IN), dW = g^T x (OUT, IN), db = sum_B g.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<MatmulOp>(getLoc(), getInput().getType(), g, getWeight()));
  out.push_back(b.create<MatmulOp>(getLoc(), getWeight().getType(),
                                   G.transpose(g, {1, 0}), getInput()));
  if (getBias())
    out.push_back(G.sum(g, {0}));
  return success();
}

LogicalResult ReconLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // The per-example adjoint g (B) spread over each example, times the
  // derivative of the summed loss.
  Grad G(b, getLoc());
  Location loc = getLoc();
  Value p = getPrediction(), t = getTarget();
  Value ge = G.expandExample(adj[0], p);
  switch (getKind()) {
  case LossKind::mse: { // (p - t)^2: 2 (p - t)
    Value d = G.mul(ge, G.scale(G.sub(p, t), 2.0));
    out.append({d, G.neg(d)});
    break;
  }
  case LossKind::l1: { // |p - t|: sign(p - t)
    Value d = G.mul(ge, b.create<SignOp>(loc, G.sub(p, t)));
    out.append({d, G.neg(d)});
    break;
  }
  case LossKind::bce_logits: // softplus(p) - t p: sigmoid(p) - t, -p
    out.push_back(G.mul(ge, G.sub(b.create<SigmoidOp>(loc, p), t)));
    out.push_back(G.neg(G.mul(ge, p)));
    break;
  case LossKind::softmax_xent: { // -sum t log_softmax(p)
    int64_t last = rt(p).getRank() - 1;
    Value lsm = b.create<LogSoftmaxOp>(loc, p, b.getI64IntegerAttr(last));
    Value st = G.expand(G.sum(t, {last}), {last}, t);
    Value sm = b.create<ExpOp>(loc, lsm);
    out.push_back(G.mul(ge, G.sub(G.mul(sm, st), t)));
    out.push_back(G.neg(G.mul(ge, lsm)));
    break;
  }
  }
  return success();
}

DenseElementsAttr mlir::gm::getLinearMask(RankedTensorType w, MaskKind kind) {
  int64_t out = w.getDimSize(0), in = w.getDimSize(1);
  SmallVector<float> m(out * in);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      // Degrees on one scale, i / IN against o / OUT, compared exactly in
      // integers: then a stack of layers (A, then B...) composes into
      // "output o reads input i only if i < o" whatever the widths (MADE).
      // (Rounding i * OUT / IN down, as gm first did, let a 784-500-784
      // MADE's outputs read later pixels.)
      int64_t lhs = i * out, rhs = o * in;
      m[o * in + i] = (kind == MaskKind::A ? lhs < rhs : lhs <= rhs) ? 1 : 0;
    }
  return DenseElementsAttr::get(w, ArrayRef<float>(m));
}

DenseElementsAttr mlir::gm::getConvMask(RankedTensorType w, MaskKind kind) {
  int64_t o = w.getDimSize(0), c = w.getDimSize(1), kh = w.getDimSize(2),
          kw = w.getDimSize(3);
  SmallVector<float> m(o * c * kh * kw);
  for (int64_t i = 0; i < (int64_t)m.size(); ++i) {
    int64_t di = (i / kw) % kh, dj = i % kw;
    bool keep = di < kh / 2 ||
                (di == kh / 2 && (kind == MaskKind::A ? dj < kw / 2 : dj <= kw / 2));
    m[i] = keep ? 1 : 0;
  }
  return DenseElementsAttr::get(w, ArrayRef<float>(m));
}

LogicalResult MaskedLinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                       SmallVectorImpl<Value> &out) {
  // As linear, with the masked weight W * M: dx = g (W * M), dW = (g^T x) * M.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto wt = rt(getWeight());
  Value mask = b.create<ConstantOp>(getLoc(), wt, getLinearMask(wt, getMask()));
  Value wm = G.mul(getWeight(), mask);
  out.push_back(b.create<MatmulOp>(getLoc(), getInput().getType(), g, wm));
  out.push_back(G.mul(b.create<MatmulOp>(getLoc(), wt, G.transpose(g, {1, 0}),
                                         getInput()),
                      mask));
  if (getBias())
    out.push_back(G.sum(g, {0}));
  return success();
}

/// output_padding that makes a transposed convolution come back to |size|.
static int64_t backPadding(int64_t size, int64_t outSize, int64_t k, int64_t s,
                           int64_t p) {
  return size - ((outSize - 1) * s - 2 * p + k);
}

LogicalResult Conv2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                 SmallVectorImpl<Value> &out) {
  // dx = conv2d_transpose(g, W); dW = conv2d_weight_grad(x, g); db = sum g.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto x = rt(getInput()), w = rt(getWeight()), y = rt(getType());
  ArrayRef<int64_t> st = getStride(), pd = getPadding();
  SmallVector<int64_t> op{
      backPadding(x.getDimSize(2), y.getDimSize(2), w.getDimSize(2), st[0], pd[0]),
      backPadding(x.getDimSize(3), y.getDimSize(3), w.getDimSize(3), st[1], pd[1])};
  out.push_back(b.create<Conv2DTransposeOp>(
      getLoc(), x, g, getWeight(), Value(), getStrideAttr(), getPaddingAttr(),
      b.getDenseI64ArrayAttr(op)));
  out.push_back(b.create<Conv2DWeightGradOp>(getLoc(), w, getInput(), g,
                                             getStrideAttr(), getPaddingAttr()));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult Conv2DTransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                          SmallVectorImpl<Value> &out) {
  // The adjoint of a transposed convolution is a convolution with the same
  // weight; its weight gradient is conv2d_weight_grad with x and g swapped.
  Grad G(b, getLoc());
  Value g = adj[0];
  out.push_back(b.create<Conv2DOp>(getLoc(), getInput().getType(), g,
                                   getWeight(), Value(), getStrideAttr(),
                                   getPaddingAttr()));
  out.push_back(b.create<Conv2DWeightGradOp>(getLoc(), getWeight().getType(), g,
                                             getInput(), getStrideAttr(),
                                             getPaddingAttr()));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult MaskedConv2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                       SmallVectorImpl<Value> &out) {
  // A stride-1 "same" convolution with the masked weight W * M.
  Grad G(b, getLoc());
  Value g = adj[0];
  auto w = rt(getWeight());
  Value mask = b.create<ConstantOp>(getLoc(), w, getConvMask(w, getMask()));
  auto one = b.getDenseI64ArrayAttr({1, 1});
  auto pad = b.getDenseI64ArrayAttr({(w.getDimSize(2) - 1) / 2, (w.getDimSize(3) - 1) / 2});
  out.push_back(b.create<Conv2DTransposeOp>(
      getLoc(), getInput().getType(), g, G.mul(getWeight(), mask), Value(), one,
      pad, b.getDenseI64ArrayAttr({0, 0})));
  out.push_back(G.mul(b.create<Conv2DWeightGradOp>(getLoc(), w, getInput(), g, one, pad),
                      mask));
  if (getBias())
    out.push_back(G.sum(g, {0, 2, 3}));
  return success();
}

LogicalResult BatchNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  // Over the axes R of each channel (all but 1), with xhat = (x - mu) / s:
  // dgamma = sum_R g xhat, dbeta = sum_R g, and
  // dx = (gamma / s) (g - mean_R g - xhat mean_R(g xhat)).
  Grad G(b, getLoc());
  Value x = getInput(), g = adj[0];
  auto xt = rt(x);
  SmallVector<int64_t> axes{0};
  for (int64_t i = 2; i < xt.getRank(); ++i)
    axes.push_back(i);
  Value n = b.create<SizeOp>(getLoc(), x, axes);
  auto meanR = [&](Value v) { // mean over R, broadcast back to x's type
    Value s = G.sum(v, axes);
    return G.expand(G.div(s, G.broadcastTo(n, rt(s), s)), axes, x);
  };
  Value centred = G.sub(x, meanR(x));
  Value var = meanR(G.mul(centred, centred));
  Value eps = G.fill(getEps().convertToDouble(), var);
  Value inv = G.div(G.fill(1.0, var), b.create<SqrtOp>(getLoc(), G.add(var, eps)));
  Value xhat = G.mul(centred, inv);
  Value gamma = G.expand(getGamma(), axes, x);
  Value dxhat = G.mul(g, gamma);
  Value dx = G.mul(inv, G.sub(G.sub(dxhat, meanR(dxhat)),
                              G.mul(xhat, meanR(G.mul(dxhat, xhat)))));
  out.push_back(dx);
  out.push_back(G.sum(G.mul(g, xhat), axes));
  out.push_back(G.sum(g, axes));
  return success();
}

LogicalResult EmbeddingOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(Value()); // token ids
  out.push_back(b.create<EmbeddingGradOp>(getLoc(), getTable().getType(),
                                          getIds(), adj[0]));
  return success();
}

LogicalResult LSTMCellOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                   SmallVectorImpl<Value> &out) {
  // Recompute the gates, then back through c' = f c + i g, h' = o tanh(c').
  Grad G(b, getLoc());
  Location loc = getLoc();
  auto ht = rt(getH());
  int64_t hid = ht.getDimSize(1);
  auto gatesType = RankedTensorType::get({ShapedType::kDynamic, 4 * hid}, b.getF32Type());
  Value gates = G.add(b.create<LinearOp>(loc, gatesType, getInput(), getWIh(), getBias()),
                      b.create<LinearOp>(loc, gatesType, getH(), getWHh(), Value()));
  auto chunk = [&](int64_t k) {
    return b.create<SliceOp>(loc, ht, gates, b.getI64IntegerAttr(1),
                             b.getI64IntegerAttr(k * hid), b.getI64IntegerAttr(hid))
        .getResult();
  };
  Value ig = b.create<SigmoidOp>(loc, chunk(0)), fg = b.create<SigmoidOp>(loc, chunk(1));
  Value gg = b.create<TanhOp>(loc, chunk(2)), og = b.create<SigmoidOp>(loc, chunk(3));
  Value tc = b.create<TanhOp>(loc, getCNext());
  Value one = G.fill(1.0, tc);
  Value dh = adj[0] ? adj[0] : G.fill(0.0, tc);
  Value dcNext = adj[1] ? adj[1] : G.fill(0.0, tc);
  Value dc = G.add(dcNext, G.mul(G.mul(dh, og), G.sub(one, G.mul(tc, tc))));
  Value di = G.mul(G.mul(dc, gg), G.mul(ig, G.sub(one, ig)));
  Value df = G.mul(G.mul(dc, getC()), G.mul(fg, G.sub(one, fg)));
  Value dg = G.mul(G.mul(dc, ig), G.sub(one, G.mul(gg, gg)));
  Value dout = G.mul(G.mul(dh, tc), G.mul(og, G.sub(one, og)));
  Value dgates = b.create<ConcatOp>(loc, gatesType, ValueRange{di, df, dg, dout},
                                    b.getI64IntegerAttr(1));
  Value dgT = G.transpose(dgates, {1, 0});
  out.push_back(b.create<MatmulOp>(loc, getInput().getType(), dgates, getWIh()));
  out.push_back(b.create<MatmulOp>(loc, getH().getType(), dgates, getWHh()));
  out.push_back(G.mul(dc, fg));
  out.push_back(b.create<MatmulOp>(loc, getWIh().getType(), dgT, getInput()));
  out.push_back(b.create<MatmulOp>(loc, getWHh().getType(), dgT, getH()));
  out.push_back(G.sum(dgates, {0}));
  return success();
}

LogicalResult RowLSTMOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                                  SmallVectorImpl<Value> &out) {
  auto grad = b.create<RowLSTMGradOp>(
      getLoc(), TypeRange{getInput().getType(), getWIs().getType(),
                          getWSs().getType(), getBias().getType()},
      getInput(), getWIs(), getWSs(), getBias(), adj[0]);
  out.append(grad.getResults().begin(), grad.getResults().end());
  return success();
}

LogicalResult NadeOp::buildVJP(OpBuilder &b, ArrayRef<Value> adj,
                               SmallVectorImpl<Value> &out) {
  auto grad = b.create<NadeGradOp>(
      getLoc(), TypeRange{getInput().getType(), getW().getType(), getC().getType(),
                          getV().getType(), getB().getType()},
      getInput(), getW(), getC(), getV(), getB(), adj[0]);
  out.append(grad.getResults().begin(), grad.getResults().end());
  return success();
}

#undef GM_SIMPLE_VJP

#include "dialects/GM/IR/GMInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/GM/IR/GMOps.cpp.inc"
