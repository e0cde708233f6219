//===- GMToABI.cpp - entry points with the artifact's calling convention --===//
//
// Turns every entry point of the gm.model (a gm.func with an entry role)
// into a func.func @gm_entry_<n>_impl with the calling convention of
// runtime/include/gmrt/abi.h, and writes the manifest (gmrt/manifest.h)
// that describes them as the module's `gm.manifest` attribute; then erases
// the model. The bodies keep their gm ops: convert-gm-to-linalg lowers them.
//
// The convention, argument by argument: one memref per gm.param (the state:
// parameters and optimizer slots, in declaration order), then the entry's
// own arguments (data, a training step's hyper-parameters as memref<f32>,
// a decoder's latent, the key as memref<i64>), then an importance-weighted
// bound's number of draws (memref<f32>), then a progressive schedule's
// fade-in weights (memref<f32>, `alpha.<to>`), then one memref per result. State
// is read through `bufferization.to_tensor restrict writable` and written
// by `materialize_in_destination`, as are results: the function writes the
// caller's buffers and leaves nothing for the caller to free.
//
// Calls are inlined first. An entry using an op that code generation cannot
// lower (hasCPULowering) is reported at the op: an error for a training
// step, which is what an artifact is for; a warning for any other entry,
// which is then left out of the artifact and the manifest.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"
#include "dialects/GM/IR/GMOps.h"
#include "dialects/GM/Transforms/Passes.h"
#include "runtime/include/gmrt/manifest.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/ScopeExit.h"

#include <set>

namespace mlir::gm {
#define GEN_PASS_DEF_GMTOABIPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

/// A gm shape in the manifest's terms: -1 for the batch dimension.
gmrt::Shape manifestShape(Type type) {
  gmrt::Shape shape;
  for (int64_t d : cast<RankedTensorType>(type).getShape())
    shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return shape;
}

/// The first op in |fn| (after inlining) that code generation cannot lower.
Operation *firstUnlowerable(FuncOp fn) {
  Operation *found = nullptr;
  fn.getBody().walk([&](Operation *op) {
    if (found || !isa<GMDialect>(op->getDialect()))
      return;
    // What this pass itself rewrites, and region terminators.
    if (isa<ParamRefOp, AssignOp, ScheduleAlphaOp, ReturnOp, YieldOp>(op))
      return;
    if (!hasCPULowering(op))
      found = op;
  });
  return found;
}

/// The resolutions whose fade-in weights (gm.schedule_alpha) |fn| reads,
/// ascending: one run-time scalar `alpha.<to>` each.
SmallVector<int64_t> fadeTargets(FuncOp fn) {
  std::set<int64_t> to;
  fn.walk([&](ScheduleAlphaOp a) { to.insert(a.getTo()); });
  return SmallVector<int64_t>(to.begin(), to.end());
}

struct GMToABI : public mlir::gm::impl::GMToABIPassBase<GMToABI> {
  void runOnOperation() override;
  /// Writes func.func @|symbol| for |entry| (calls already inlined in the
  /// copy |fn|) at the end of the module.
  void lowerEntry(ModelOp model, FuncOp fn, StringRef symbol);
  /// The manifest's description of |fn| as entry |symbol|.
  gmrt::EntrySpec describe(FuncOp fn, StringRef symbol);
};

void GMToABI::lowerEntry(ModelOp model, FuncOp fn, StringRef symbol) {
  ModuleOp module = getOperation();
  OpBuilder b(module.getContext());
  auto memrefOf = [&](Type t) -> Type {
    if (isa<KeyType>(t))
      return MemRefType::get({}, b.getI64Type());
    auto rt = cast<RankedTensorType>(t);
    return MemRefType::get(rt.getShape(), rt.getElementType());
  };
  SmallVector<Type> args;
  SmallVector<ParamOp> state(model.getBlock().getOps<ParamOp>());
  for (ParamOp p : state)
    args.push_back(memrefOf(p.getType()));
  FunctionType fnType = fn.getFunctionType();
  for (Type t : fnType.getInputs())
    args.push_back(memrefOf(t));
  // An importance-weighted bound takes its number of draws as an argument.
  bool hasIwae = false;
  fn.walk([&](IwaeOp) { hasIwae = true; });
  if (hasIwae)
    args.push_back(MemRefType::get({}, b.getF32Type()));
  // A progressive schedule's fade-in weights, which the host sets per step.
  SmallVector<int64_t> fades = fadeTargets(fn);
  for (size_t i = 0; i < fades.size(); ++i)
    args.push_back(MemRefType::get({}, b.getF32Type()));
  for (Type t : fnType.getResults())
    args.push_back(memrefOf(t));

  b.setInsertionPointToEnd(module.getBody());
  auto func = b.create<func::FuncOp>(fn.getLoc(), symbol, b.getFunctionType(args, {}));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);

  // State: writable, so an optimizer step updates it in place.
  DenseMap<StringAttr, Value> stateMemref, stateTensor;
  for (auto [i, p] : llvm::enumerate(state)) {
    Value m = body->getArgument(i);
    stateMemref[p.getSymNameAttr()] = m;
    stateTensor[p.getSymNameAttr()] =
        b.create<bufferization::ToTensorOp>(p.getLoc(), m, /*restrict=*/true, /*writable=*/true);
  }
  // The entry's arguments; the key seen by gm ops as a !gm.key again.
  IRMapping map;
  Block &gmBody = fn.getBody().front();
  for (auto [i, a] : llvm::enumerate(gmBody.getArguments())) {
    Value t = b.create<bufferization::ToTensorOp>(a.getLoc(), body->getArgument(state.size() + i),
                                                  true, false);
    if (isa<KeyType>(a.getType()))
      t = b.create<UnrealizedConversionCastOp>(a.getLoc(), a.getType(), t).getResult(0);
    map.map(a, t);
  }
  unsigned firstOut = state.size() + gmBody.getNumArguments();
  Value draws;
  if (hasIwae)
    draws = b.create<bufferization::ToTensorOp>(fn.getLoc(), body->getArgument(firstOut++), true,
                                                false);
  DenseMap<int64_t, Value> alphas;
  for (int64_t to : fades)
    alphas[to] = b.create<bufferization::ToTensorOp>(fn.getLoc(), body->getArgument(firstOut++),
                                                     true, false);

  for (Operation &op : gmBody) {
    if (auto ret = dyn_cast<ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands()))
        b.create<bufferization::MaterializeInDestinationOp>(
            ret.getLoc(), TypeRange{}, map.lookup(v), body->getArgument(firstOut + i), true, true);
      break;
    }
    b.clone(op, map);
  }
  b.create<func::ReturnOp>(fn.getLoc());

  // Parameters read and written, at any depth (an IWAE region reads the
  // decoder's weights).
  SmallVector<Operation *> rewritten;
  func.walk([&](Operation *op) {
    if (isa<ParamRefOp, AssignOp, IwaeOp, ScheduleAlphaOp>(op))
      rewritten.push_back(op);
  });
  for (Operation *op : rewritten) {
    if (auto ref = dyn_cast<ParamRefOp>(op)) {
      ref.replaceAllUsesWith(stateTensor.lookup(ref.getNameAttr().getAttr()));
      ref.erase();
    } else if (auto assign = dyn_cast<AssignOp>(op)) {
      OpBuilder at(assign);
      at.create<bufferization::MaterializeInDestinationOp>(
          assign.getLoc(), TypeRange{}, assign.getValue(),
          stateMemref.lookup(assign.getNameAttr().getAttr()), true, true);
      assign.erase();
    } else if (auto alpha = dyn_cast<ScheduleAlphaOp>(op)) {
      alpha.replaceAllUsesWith(alphas.lookup(alpha.getTo()));
      alpha.erase();
    } else {
      cast<IwaeOp>(op).getDrawsMutable().assign(draws);
    }
  }
}

gmrt::EntrySpec GMToABI::describe(FuncOp fn, StringRef symbol) {
  gmrt::EntrySpec e;
  e.name = fn.getSymName().str();
  e.symbol = symbol.str();
  // generate.<z> serves gmrun as a decoder does.
  e.kind = fn.getRole() == FuncRole::generate ? "decode" : stringifyFuncRole(fn.getRole()).str();
  ArrayAttr inputs = fn.getInputs();
  ArrayRef<StringRef> hparamNames = fn.getRuntimeArgNames();
  DictionaryAttr hparams = fn.getOptimizer() ? fn.getOptimizer()->getHparams() : DictionaryAttr();
  unsigned dataCount = inputs.size();
  for (auto [i, t] : llvm::enumerate(fn.getFunctionType().getInputs())) {
    gmrt::InputSpec &in = e.inputs.emplace_back();
    if (isa<KeyType>(t)) {
      in.kind = gmrt::InputSpec::Kind::Key;
    } else if (i < dataCount) {
      in.kind = gmrt::InputSpec::Kind::Data;
      in.name = cast<FlatSymbolRefAttr>(inputs[i]).getValue().str();
      in.shape = manifestShape(t);
    } else if (i - dataCount < hparamNames.size()) {
      in.kind = gmrt::InputSpec::Kind::HParam;
      in.name = hparamNames[i - dataCount].str();
      if (auto value = hparams ? hparams.getAs<FloatAttr>(in.name) : FloatAttr())
        in.defaultValue = value.getValueAsDouble();
    } else if ((i == dataCount && fn.getLatent()) || !fn.getCodes()) {
      // A decoder's latent value.
      in.kind = gmrt::InputSpec::Kind::Tensor;
      in.name = fn.getLatent() ? fn.getLatent()->str() : "in" + std::to_string(i);
      in.shape = manifestShape(t);
      if (fn.getStandardPrior())
        in.prior = "standard_normal";
    } else {
      // A generator's code, after its latent, in the order of `codes`.
      NamedAttribute code = fn.getCodes()->getValue()[i - dataCount - (fn.getLatent() ? 1 : 0)];
      in.kind = gmrt::InputSpec::Kind::Tensor;
      in.name = code.getName().str();
      in.shape = manifestShape(t);
      in.prior = cast<StringAttr>(code.getValue()).str();
    }
  }
  // An IWAE bound takes its number of draws as one more hyper-parameter,
  // after the gm function's own arguments.
  int64_t k = 0;
  fn.walk([&](IwaeOp iw) { k = iw.getK(); });
  if (k) {
    gmrt::InputSpec &in = e.inputs.emplace_back();
    in.kind = gmrt::InputSpec::Kind::HParam;
    in.name = "k";
    in.defaultValue = (double)k;
  }
  // Then the fade-in weights, 1 (the grown model) unless the host says.
  for (int64_t to : fadeTargets(fn)) {
    gmrt::InputSpec &in = e.inputs.emplace_back();
    in.kind = gmrt::InputSpec::Kind::HParam;
    in.name = "alpha." + std::to_string(to);
    in.defaultValue = 1.0;
  }
  for (Type t : fn.getFunctionType().getResults())
    e.outputs.push_back(manifestShape(t));
  // How training steps are scheduled: which step (gm.step or gm.minimax)
  // an entry belongs to, its player, and a game's discriminator steps per
  // generator step.
  if (FlatSymbolRefAttr step = fn.getStepAttr())
    if (Operation *def = SymbolTable::lookupNearestSymbolFrom(fn, step)) {
      if (auto batch = def->getAttrOfType<IntegerAttr>("batch"))
        e.batch = batch.getInt();
      e.step = step.getValue().str();
      if (fn.getPlayer())
        e.player = stringifyPlayer(*fn.getPlayer()).str();
      if (auto mm = dyn_cast<MinimaxOp>(def))
        e.k = mm.getK();
    }
  // What an evaluation computes and whether a decoder's latent has the
  // standard normal prior: how gmrun reports and samples.
  if (fn.getBound())
    e.value = stringifyBound(*fn.getBound()).str();
  if (fn.getStandardPrior())
    e.prior = "standard_normal";
  return e;
}

void GMToABI::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<ModelOp> models(module.getOps<ModelOp>());
  if (models.size() != 1) {
    module.emitError() << "expected one gm.model to lower, found " << models.size();
    return signalPassFailure();
  }
  ModelOp model = models.front();
  gmrt::Manifest manifest;
  manifest.model = model.getSymName().str();
  for (ProgressiveOp p : model.getBlock().getOps<ProgressiveOp>()) {
    gmrt::Manifest::Schedule &sc = manifest.schedule.emplace();
    sc.resolutions.assign(p.getResolutions().begin(), p.getResolutions().end());
    sc.epochsPerStage = p.getEpochsPerStage();
    sc.fade = p.getFadeFraction().convertToDouble();
  }
  for (ParamOp p : model.getBlock().getOps<ParamOp>()) {
    gmrt::StateSpec &s = manifest.state.emplace_back();
    s.name = p.getSymName().str();
    s.shape = manifestShape(p.getType());
    s.init = stringifyInitKind(p.getInit()).str();
    s.scale = p.getScale() ? p.getScale()->convertToDouble() : 1.0;
    if (FlatSymbolRefAttr slotOf = p.getSlotOfAttr())
      s.slotOf = slotOf.getValue().str();
    s.statistic = p.getStatistic();
  }
  for (DataOp d : model.getBlock().getOps<DataOp>()) {
    gmrt::DataSpec &data = manifest.data.emplace_back();
    data.name = d.getSymName().str();
    data.shape = manifestShape(d.getType());
    data.kind = stringifyDataKind(d.getKind()).str();
    if (std::optional<StringRef> source = d.getSource())
      data.source = source->str();
    if (std::optional<uint64_t> classes = d.getClasses())
      data.classes = (int64_t)*classes;
  }

  SmallVector<FuncOp> entries;
  for (FuncOp fn : model.getBlock().getOps<FuncOp>())
    if (fn.isEntry())
      entries.push_back(fn);
  unsigned next = 0;
  for (FuncOp entry : entries) {
    // Work on a copy with the calls inlined.
    OpBuilder b(entry);
    b.setInsertionPointAfter(entry);
    auto fn = cast<FuncOp>(b.clone(*entry));
    auto eraseCopy = llvm::make_scope_exit([&] { fn.erase(); });
    if (failed(inlineCalls(fn)))
      return signalPassFailure();
    if (Operation *op = firstUnlowerable(fn)) {
      bool fatal = entry.getRole() == FuncRole::train;
      // The copy's op carries the .gm location of the original.
      InFlightDiagnostic diag = fatal ? op->emitError() : op->emitWarning();
      diag << "'" << op->getName() << "' has no CPU lowering yet; "
           << (fatal ? "cannot compile" : "leaving out") << " entry '" << entry.getSymName()
           << "'";
      if (fatal)
        return signalPassFailure();
      continue;
    }
    std::string symbol = "gm_entry_" + std::to_string(next++);
    lowerEntry(model, fn, symbol + "_impl");
    // The inlined copy: what its nets read (a fade's weight) is in it.
    manifest.entries.push_back(describe(fn, symbol));
  }
  if (manifest.entries.empty()) {
    model.emitError() << "model '" << model.getSymName()
                      << "' has no entry point to compile (no train block?)";
    return signalPassFailure();
  }
  module->setAttr("gm.manifest", StringAttr::get(module.getContext(), gmrt::toJson(manifest)));
  model.erase();
}

} // namespace
