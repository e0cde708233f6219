//===- GMOps.cpp - gm dialect operations ------------------------------------===//
//
// Verifiers, custom assembly and folders of the gm ops. Every rule a trait
// cannot express is checked here, with a message that names the offending
// types, so MLIRGen bugs and hand-written IR fail with the reason. The
// shape rules are in GMShapes.cpp, the gradient rules in GMGradients.cpp.
//
// Shape legend: B = batch (dynamic, leading), D = features, H = hidden,
// C = channels, K = classes or components.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/IR/GMOps.h"

#include "dialects/GM/IR/GMBuilder.h"
#include "dialects/GM/IR/OpHelpers.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::gm;
using namespace mlir::gm::ophelpers;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

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
  if (getStatistic() && getSlotOf())
    return emitOpError() << "is a statistic and an optimizer slot at once";
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
  // One tensor<?xf32> result: a value per example (a score, a log-density).
  auto onePerExample = [&] {
    return type.getNumResults() == 1 &&
           type.getResult(0) == RankedTensorType::get({ShapedType::kDynamic},
                                                      scalar.getElementType());
  };
  if (type.getNumInputs() == 0 || !isa<KeyType>(type.getInputs().back()))
    return emitOpError() << "expects a !gm.key as its last argument";
  if (getRunningStats() && role != FuncRole::gradient)
    return emitOpError() << "with role " << name << " has no 'running_stats'";
  if (DictionaryAttr codes = getCodesAttr()) {
    if (role != FuncRole::generate && role != FuncRole::translate)
      return emitOpError() << "with role " << name << " has no 'codes'";
    for (NamedAttribute code : codes) {
      auto prior = dyn_cast<StringAttr>(code.getValue());
      if (!prior || (prior.getValue() != "standard_normal" &&
                     prior.getValue() != "uniform_categorical"))
        return emitOpError() << "expects code '" << code.getName().getValue()
                             << "' to name its prior, \"standard_normal\" or "
                                "\"uniform_categorical\"";
    }
  }
  bool takesLatent = role == FuncRole::decode || role == FuncRole::generate ||
                     role == FuncRole::sample || role == FuncRole::prior ||
                     role == FuncRole::draw;
  // Data first; then a training step's run-time scalars, or the latent
  // value a decoder maps and a generator's codes.
  size_t extra = (takesLatent ? 1 : getRuntimeArgNames().size()) +
                 (getCodes() ? getCodes()->size() : 0);
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
        type.getNumResults() !=
            1 + getParams()->size() + (getRunningStats() ? getRunningStats()->size() : 0))
      return emitOpError() << "returns " << type.getNumResults()
                           << " values, but a loss, " << getParams()->size()
                           << " gradient(s) and "
                           << (getRunningStats() ? getRunningStats()->size() : 0)
                           << " running statistic(s) were expected";
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
    if (!onePerExample())
      return emitOpError() << "with role score expects one tensor<?xf32> result, one value per "
                              "example";
    break;
  case FuncRole::sample:
    if (type.getNumResults() != 1 || type.getResult(0) != type.getInput(getInputs().size()))
      return emitOpError() << "with role sample expects one result of its uniforms' type";
    break;
  case FuncRole::classify:
  case FuncRole::features:
    if (type.getNumResults() != 1 || rt(type.getResult(0)).getRank() != 2 ||
        !isBatched(rt(type.getResult(0))))
      return emitOpError() << "with role " << name << " expects one (batch, n) result";
    break;
  case FuncRole::translate:
    if (getInputs().size() != 1 || type.getNumResults() != 1 ||
        !isBatched(rt(type.getResult(0))))
      return emitOpError() << "with role translate expects one data input and one batched "
                              "result";
    break;
  case FuncRole::prior:
    if (failed(need(getLatent().has_value(), "latent")))
      return failure();
    if (!onePerExample())
      return emitOpError() << "with role prior expects one tensor<?xf32> result, log p(z) per "
                              "example";
    break;
  case FuncRole::draw:
    // As many draws as its argument has rows: the argument gives the
    // count (an entry's batch comes from a tensor), not the values.
    if (failed(need(getLatent().has_value(), "latent")))
      return failure();
    if (type.getNumResults() != 1 || type.getResult(0) != type.getInput(getInputs().size()) ||
        !isBatched(rt(type.getResult(0))))
      return emitOpError() << "with role draw expects one batched result of its argument's type";
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
  if (getValueAttr() && !lookup<ObjectiveOp>(*this, tables, getValueAttr()))
    return emitOpError() << "'" << getValueAttr() << "' is not a gm.objective";
  if (!getValueAttr() && !(getDiscExtraAttr() && getGenExtraAttr()))
    return emitOpError() << "expects a value, or a loss for each player "
                            "(disc_extra and gen_extra)";
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
  auto schedule = lookup<ProgressiveOp>(*this, tables, getScheduleAttr());
  if (!schedule)
    return emitOpError() << "'" << getSchedule() << "' is not a gm.progressive";
  ArrayRef<int64_t> res = schedule.getResolutions();
  if (!llvm::is_contained(res.drop_front(), getTo())) {
    InFlightDiagnostic d = emitOpError() << "fades in resolution " << getTo()
                                         << ", which is not one of the schedule's after the first (";
    llvm::interleaveComma(res.drop_front(), d);
    return d << ")";
  }
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
LogicalResult DiscretizedLogisticOp::verify() {
  return verifyDistResult(*this, getType(), DistKind::discretized_logistic,
                          getLoc().getType());
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
  auto yt = yield && yield.getValues().size() == 1
                ? dyn_cast<RankedTensorType>(yield.getValues()[0].getType())
                : RankedTensorType();
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
  // Bernoulli: the logits; discretised logistic: loc and log_scale.
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  unsigned want = getLevels() ? 2 : 1;
  if (!yield || yield.getValues().size() != want ||
      llvm::any_of(yield.getValues().getTypes(), [&](Type y) { return y != t; }))
    return emitOpError() << "expects its region to yield "
                         << (getLevels() ? "loc and log_scale" : "one logit")
                         << " per value, " << t;
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
// Autoregressive masks
//===----------------------------------------------------------------------===//

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


#include "dialects/GM/IR/GMInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/GM/IR/GMOps.cpp.inc"
