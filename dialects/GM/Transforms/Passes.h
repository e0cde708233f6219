//===- Passes.h - gm dialect passes -----------------------------*- C++ -*-===//
//
// The gm -> gm passes; see Passes.td for what each does.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_TRANSFORMS_PASSES_H
#define GM_DIALECTS_GM_TRANSFORMS_PASSES_H

#include "dialects/GM/IR/GMOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::gm {

#define GEN_PASS_DECL
#include "dialects/GM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/GM/Transforms/Passes.h.inc"

/// The rewrites of gm-decompose: composite ops into core ops.
void populateDecomposePatterns(RewritePatternSet &patterns);

/// Replaces every gm.call inside |fn| (nested calls too) by the callee's
/// body. Fails, with a diagnostic, on a callee without a body or on calls
/// nested more than 64 deep.
LogicalResult inlineCalls(Operation *fn);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_TRANSFORMS_PASSES_H
