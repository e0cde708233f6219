//===- BuildLosses.cpp - one loss per training step and player -------------===//
//
// Turns the training plan (gm.step, gm.minimax) into the functions the
// optimizer minimises: gm.func @<step>.loss.<player>, each a signed sum of
// cloned objectives. Expects verified gm IR straight from MLIRGen.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "dialects/GM/IR/GMBuilder.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMBUILDLOSSESPASS
#include "dialects/GM/Transforms/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

/// One term of a loss: `sign` times objective `fn`, with its adversarial
/// terms in the generator's form when `generator` is set.
struct Term {
  ObjectiveOp fn;
  double sign;
  bool generator = false;
  GenLoss genLoss = GenLoss::non_saturating;
};

/// The generator's loss for one adversarial term (to be minimised):
/// saturating: mean log(1 - D(fake)); non-saturating: -mean log D(fake).
Value generatorTerm(OpBuilder &b, AdversarialOp adv, GenLoss kind) {
  GMBuilder g(b, adv.getLoc());
  Value fake = adv.getFake();
  if (kind == GenLoss::saturating)
    return g.meanAll(g.logSigmoid(g.neg(fake)));
  return g.neg(g.meanAll(g.logSigmoid(fake)));
}

struct BuildLosses
    : public mlir::gm::impl::GMBuildLossesPassBase<BuildLosses> {
  void runOnOperation() override {
    for (ModelOp model : getOperation().getOps<ModelOp>())
      if (failed(runOnModel(model)))
        return signalPassFailure();
  }

  LogicalResult runOnModel(ModelOp model);
  LogicalResult buildEvaluations(ModelOp model);
  static std::optional<Bound> boundOf(FuncOp fn, Value perExample);
  FuncOp buildLoss(ModelOp model, ArrayRef<Term> terms, Operation *from,
                   Player player, ArrayAttr groups);
};

LogicalResult BuildLosses::runOnModel(ModelOp model) {
  SymbolTable symbols(model);
  auto objective = [&](FlatSymbolRefAttr ref) {
    return ref ? symbols.lookup<ObjectiveOp>(ref.getValue()) : ObjectiveOp();
  };
  SmallVector<Operation *> plan;
  for (Operation &op : model.getBlock())
    if (isa<StepOp, MinimaxOp>(op))
      plan.push_back(&op);
  if (failed(buildEvaluations(model)))
    return failure();
  for (Operation *op : plan) {
    if (auto step = dyn_cast<StepOp>(op)) {
      double sign = step.getDirection() == Direction::maximize ? -1.0 : 1.0;
      if (!buildLoss(model, {Term{objective(step.getObjectiveAttr()), sign}}, step,
                     Player::all, step.getGroups()))
        return failure();
      continue;
    }
    // A value is zero-sum: -value for the discriminator, value (its
    // gm.adversarial terms in the generator's form) for the generator.
    // Without one, the extras are the players' whole losses.
    auto mm = cast<MinimaxOp>(op);
    SmallVector<Term> disc, gen;
    if (ObjectiveOp value = objective(mm.getValueAttr())) {
      disc.push_back(Term{value, -1.0});
      gen.push_back(Term{value, 1.0, true, mm.getGenLoss()});
    }
    if (ObjectiveOp extra = objective(mm.getDiscExtraAttr()))
      disc.push_back(Term{extra, 1.0});
    if (ObjectiveOp extra = objective(mm.getGenExtraAttr()))
      gen.push_back(Term{extra, 1.0});
    if (!buildLoss(model, disc, mm, Player::discriminator, mm.getDiscGroups()) ||
        !buildLoss(model, gen, mm, Player::generator, mm.getGenGroups()))
      return failure();
  }
  return success();
}

/// Every objective also on its own, as gm.func @eval.<name> (an entry point
/// of the artifact: gmrun's test-set numbers). Its `bound` attribute says what it
/// computes when that is a bound gmrun reports by name.
LogicalResult BuildLosses::buildEvaluations(ModelOp model) {
  OpBuilder b(model.getContext());
  for (ObjectiveOp obj : llvm::to_vector(model.getBlock().getOps<ObjectiveOp>())) {
    std::string name = ("eval." + obj.getSymName()).str();
    if (SymbolTable::lookupSymbolIn(model, name))
      return obj.emitError() << "cannot write @" << name << ": the symbol is taken";
    b.setInsertionPointToEnd(&model.getBlock());
    auto fn = b.create<FuncOp>(obj.getLoc(), name, obj.getFunctionType());
    IRMapping map;
    obj.getBody().cloneInto(&fn.getBody(), map);
    fn.setRole(FuncRole::eval);
    fn.setInputsAttr(obj.getInputs());
    auto ret = cast<ReturnOp>(fn.getBody().front().getTerminator());
    auto mean = ret.getOperand(0).getDefiningOp<MeanOp>();
    std::optional<Bound> bound = mean ? boundOf(fn, mean.getInput()) : std::nullopt;
    if (!bound)
      continue;
    fn.setBound(*bound);
    // The same per example, before the batch mean: gmrun score's densities.
    std::string scoreName = ("score." + obj.getSymName()).str();
    if (SymbolTable::lookupSymbolIn(model, scoreName))
      return obj.emitError() << "cannot write @" << scoreName << ": the symbol is taken";
    b.setInsertionPointToEnd(&model.getBlock());
    auto perExample = cast<RankedTensorType>(mean.getInput().getType());
    auto score = b.create<FuncOp>(
        obj.getLoc(), scoreName,
        b.getFunctionType(obj.getFunctionType().getInputs(), perExample));
    IRMapping scoreMap;
    obj.getBody().cloneInto(&score.getBody(), scoreMap);
    score.setRole(FuncRole::score);
    score.setInputsAttr(obj.getInputs());
    score.setBound(*bound);
    auto scoreRet = cast<ReturnOp>(score.getBody().front().getTerminator());
    auto scoreMean = cast<MeanOp>(scoreRet.getOperand(0).getDefiningOp());
    scoreRet.setOperand(0, scoreMean.getInput());
    scoreMean.erase();
  }
  return success();
}

/// What |perExample|, the value an objective averages over the batch,
/// computes of log p(x): an ELBO, an IWAE bound, or (a likelihood's
/// log-density with nothing sampled) log p(x) itself; none otherwise.
std::optional<Bound> BuildLosses::boundOf(FuncOp fn, Value perExample) {
  auto type = dyn_cast<RankedTensorType>(perExample.getType());
  if (!type || type.getRank() != 1)
    return std::nullopt;
  Operation *value = perExample.getDefiningOp();
  if (isa_and_nonnull<ElboOp>(value))
    return Bound::elbo;
  if (isa_and_nonnull<IwaeOp>(value))
    return Bound::iwae;
  if (!isa_and_nonnull<LogProbOp>(value))
    return std::nullopt;
  // A log-density at a sampled latent is one draw of a bound's integrand,
  // not log p(x).
  bool sampled = fn.walk([](Operation *op) {
                     return isa<SampleOp>(op) ? WalkResult::interrupt() : WalkResult::advance();
                   }).wasInterrupted();
  return sampled ? std::nullopt : std::optional<Bound>(Bound::exact);
}

FuncOp BuildLosses::buildLoss(ModelOp model, ArrayRef<Term> terms,
                              Operation *from, Player player, ArrayAttr groups) {
  auto step = cast<SymbolOpInterface>(from).getNameAttr();
  // Named for the reader; passes find it by its attributes.
  std::string name = (step.getValue() + ".loss." + stringifyPlayer(player)).str();
  if (SymbolTable::lookupSymbolIn(model, name)) {
    from->emitError() << "cannot write loss @" << name
                      << ": the symbol is taken";
    return nullptr;
  }
  // The union of the terms' data inputs, in the model's declaration order.
  llvm::SetVector<StringAttr> used;
  for (Term t : terms)
    for (Attribute ref : t.fn.getInputs())
      used.insert(cast<FlatSymbolRefAttr>(ref).getAttr());
  SmallVector<DataOp> inputs;
  for (DataOp data : model.getBlock().getOps<DataOp>())
    if (used.contains(data.getSymNameAttr()))
      inputs.push_back(data);

  OpBuilder b(model.getContext());
  b.setInsertionPointToEnd(&model.getBlock());
  Location loc = from->getLoc();
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  SmallVector<Type> argTypes;
  SmallVector<Attribute> refs;
  for (DataOp data : inputs) {
    argTypes.push_back(data.getType());
    refs.push_back(FlatSymbolRefAttr::get(data.getSymNameAttr()));
  }
  argTypes.push_back(KeyType::get(b.getContext()));
  auto fn = b.create<FuncOp>(loc, name, b.getFunctionType(argTypes, {scalar}));
  fn.setRole(FuncRole::loss);
  fn.setInputsAttr(b.getArrayAttr(refs));
  fn.setStepAttr(FlatSymbolRefAttr::get(step));
  fn.setPlayer(player);
  fn.setGroupsAttr(groups);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);

  Value total;
  for (const Term &t : terms) {
    IRMapping map;
    ObjectiveOp srcFn = t.fn;
    Block &src = srcFn.getBody().front();
    for (auto [i, ref] : llvm::enumerate(srcFn.getInputs())) {
      auto sym = cast<FlatSymbolRefAttr>(ref).getAttr();
      auto it = llvm::find_if(inputs, [&](DataOp d) { return d.getSymNameAttr() == sym; });
      map.map(src.getArgument(i), entry->getArgument(it - inputs.begin()));
    }
    map.map(src.getArguments().back(), entry->getArguments().back());
    Value result;
    for (Operation &op : src) {
      if (auto ret = dyn_cast<ReturnOp>(op)) {
        result = map.lookup(ret.getOperand(0));
        break;
      }
      Operation *copy = b.clone(op, map);
      if (auto adv = dyn_cast<AdversarialOp>(copy); adv && t.generator) {
        Value term = generatorTerm(b, adv, t.genLoss);
        adv.replaceAllUsesWith(term);
        map.map(op.getResult(0), term);
        adv.erase();
      }
    }
    if (t.sign != 1.0)
      result = GMBuilder(b, loc).mul(GMBuilder(b, loc).scalar(t.sign), result);
    total = total ? b.create<AddOp>(loc, total, result).getResult() : result;
  }
  b.create<ReturnOp>(loc, ValueRange{total});
  return fn;
}

} // namespace
