//===- Passes.h - gm dialect passes -----------------------------*- C++ -*-===//
//
// The gm -> gm passes; see Passes.td for what each does.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_TRANSFORMS_PASSES_H
#define GM_DIALECTS_GM_TRANSFORMS_PASSES_H

#include "dialects/GM/IR/GMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

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

/// Erases the ops of |block| whose results nothing reads and that have no
/// side effects, until none is left (an op's region goes with it).
void eraseDeadOps(Block &block);

/// The reverse sweep of reverse-mode differentiation, shared by gm-autodiff
/// and gm-expand-input-grads. Walks |forward| (ops in program order)
/// backwards from the adjoints already seeded in |adjoint|, and builds, at
/// |b|'s insertion point, each op's vector-Jacobian product when one of its
/// results has an adjoint and one of its operands is in |active| (depends on
/// what is differentiated). Operand adjoints are added up in |adjoint|.
/// Fails at an op without a gradient rule (the diagnostic ends with |what|,
/// which says what depends on it) or a sample that cannot pass a gradient.
LogicalResult reverseSweep(OpBuilder &b, ArrayRef<Operation *> forward,
                           const llvm::DenseSet<Value> &active,
                           llvm::DenseMap<Value, Value> &adjoint, StringRef what);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_TRANSFORMS_PASSES_H
