//===- GMDialect.h - gm dialect, its enums, attributes and types -*- C++ -*-===//
//
// Declares the gm dialect (see GMBase.td for what it models) together with
// its generated enums, attributes and types. Include GMOps.h for the ops.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_IR_GMDIALECT_H
#define GM_DIALECTS_GM_IR_GMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Dialect.h"

#include "dialects/GM/IR/GMDialect.h.inc"
#include "dialects/GM/IR/GMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/GM/IR/GMAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/GM/IR/GMTypes.h.inc"

namespace mlir::gm {

/// True if `kind` has continuous support (real-valued samples).
bool isContinuous(DistKind kind);

/// True if samples of `kind` can be written as a differentiable function of
/// its parameters and parameter-free noise.
bool isReparameterizable(DistKind kind);

/// Why KL(q || p) is undefined or infinite for these families, or an empty
/// string when it is defined.
llvm::StringRef klIncompatibility(DistKind q, DistKind p);

/// True if KL(q || p) has a closed form for these families.
bool hasAnalyticKL(DistKind q, DistKind p);

/// Where a shape rule reports what is wrong: the verifier passes its
/// emitOpError, MLIRGen an error at the .gm construct, already naming the
/// builtin; the rule continues the message ("expects ...").
using ShapeError = llvm::function_ref<InFlightDiagnostic()>;

/// A shape as the .gm source writes it: "[1, 28, 28]" per example for a
/// batched type (the batch is implicit), "[400, 784] (unbatched)" for a
/// parameter, "[]" for a scalar.
std::string describeShape(Type type);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_IR_GMDIALECT_H
