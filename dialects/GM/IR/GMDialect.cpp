//===- GMDialect.cpp - gm dialect registration, types and attributes -----===//
//
// Registers the gm dialect and implements what its types and attributes
// check beyond their ODS declarations: distribution sample types and the
// hyper-parameters each optimizer takes.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gm;

#include "dialects/GM/IR/GMDialect.cpp.inc"
#include "dialects/GM/IR/GMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/GM/IR/GMAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/GM/IR/GMTypes.cpp.inc"

void GMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/GM/IR/GMOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/GM/IR/GMTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/GM/IR/GMAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Distribution families
//===----------------------------------------------------------------------===//

bool mlir::gm::isContinuous(DistKind kind) {
  return kind == DistKind::normal || kind == DistKind::uniform ||
         kind == DistKind::mixture_normal;
}

bool mlir::gm::isReparameterizable(DistKind kind) {
  // A mixture's component choice is discrete: its weights get no pathwise
  // gradient, so it is not listed here.
  return kind == DistKind::normal || kind == DistKind::uniform;
}

llvm::StringRef mlir::gm::klIncompatibility(DistKind q, DistKind p) {
  if (isContinuous(q) != isContinuous(p))
    return "one distribution is continuous and the other discrete";
  if (p == DistKind::uniform && q != DistKind::uniform)
    return "q puts mass outside the bounded support of the uniform p, so the "
           "divergence is infinite";
  return "";
}

bool mlir::gm::hasAnalyticKL(DistKind q, DistKind p) {
  return q == p && (q == DistKind::normal || q == DistKind::bernoulli ||
                    q == DistKind::categorical);
}

//===----------------------------------------------------------------------===//
// DistType
//===----------------------------------------------------------------------===//

LogicalResult DistType::verify(function_ref<InFlightDiagnostic()> emitError,
                               DistKind kind, RankedTensorType sampleType) {
  if (!sampleType.getElementType().isF32())
    return emitError() << "distribution samples must be f32 tensors, got "
                       << sampleType;
  if (sampleType.getRank() < 1 || !sampleType.isDynamicDim(0))
    return emitError() << "distribution samples must have a dynamic leading "
                          "batch dimension, got "
                       << sampleType;
  if (!sampleType.getShape().drop_front().empty() &&
      ShapedType::isDynamicShape(sampleType.getShape().drop_front()))
    return emitError() << "distribution samples must have static per-example "
                          "dimensions, got "
                       << sampleType;
  if (kind == DistKind::categorical && sampleType.getRank() < 2)
    return emitError() << "categorical samples are one-hot over a last axis, "
                          "got "
                       << sampleType;
  return success();
}

//===----------------------------------------------------------------------===//
// OptimizerAttr
//===----------------------------------------------------------------------===//

ArrayRef<StringRef> OptimizerAttr::getRuntimeArgs() const {
  static const StringRef adam[] = {"t", "lr", "beta1", "beta2", "eps"};
  static const StringRef sgd[] = {"lr", "momentum"};
  if (getKind() == OptimizerKind::adam)
    return adam;
  return sgd;
}

ArrayRef<StringRef> OptimizerAttr::getSlotNames() const {
  static const StringRef adam[] = {"m", "v"};
  static const StringRef sgd[] = {"momentum"};
  if (getKind() == OptimizerKind::adam)
    return adam;
  return sgd;
}

LogicalResult
OptimizerAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      OptimizerKind kind, DictionaryAttr hparams) {
  llvm::SmallVector<llvm::StringRef> allowed;
  if (kind == OptimizerKind::adam)
    allowed = {"lr", "beta1", "beta2", "eps"};
  else
    allowed = {"lr", "momentum"};
  // `clip` (optional, either optimizer): parameters clamped to [-clip, clip]
  // after each step, a Wasserstein critic's weight clipping.
  for (NamedAttribute entry : hparams) {
    if (entry.getName() == "clip") {
      auto c = llvm::dyn_cast<FloatAttr>(entry.getValue());
      if (!c || !(c.getValueAsDouble() > 0))
        return emitError() << "'clip' must be a positive float, got " << entry.getValue();
      continue;
    }
    if (!llvm::is_contained(allowed, entry.getName().strref()))
      return emitError() << "optimizer " << stringifyOptimizerKind(kind)
                         << " has no hyper-parameter '"
                         << entry.getName().getValue() << "'";
    if (!llvm::isa<FloatAttr>(entry.getValue()))
      return emitError() << "hyper-parameter '" << entry.getName().getValue()
                         << "' must be a float, got " << entry.getValue();
  }
  for (llvm::StringRef name : allowed) {
    auto value = hparams.getAs<FloatAttr>(name);
    if (!value)
      return emitError() << "optimizer " << stringifyOptimizerKind(kind)
                         << " needs hyper-parameter '" << name << "'";
    double v = value.getValueAsDouble();
    if (name == "lr" && !(v > 0))
      return emitError() << "learning rate must be positive, got " << v;
    if ((name == "beta1" || name == "beta2" || name == "momentum") &&
        !(v >= 0 && v < 1))
      return emitError() << "'" << name << "' must be in [0, 1), got " << v;
    if (name == "eps" && !(v > 0))
      return emitError() << "'eps' must be positive, got " << v;
  }
  return success();
}
