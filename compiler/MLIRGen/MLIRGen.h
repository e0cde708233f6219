//===- MLIRGen.h - .gm AST to gm dialect ------------------------*- C++ -*-===//
//
// The only code that sees both the .gm syntax tree and MLIR. It resolves
// names, infers and checks every shape, creates one gm.param per layer
// parameter, and emits a gm.model whose ops carry FileLineColLoc locations of
// the .gm source. Errors are emitted as MLIR diagnostics at those locations.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_MLIRGEN_MLIRGEN_H
#define GM_COMPILER_MLIRGEN_MLIRGEN_H

#include "compiler/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace gm {

/// Emits `model` as a module holding one verified gm.model, or returns null
/// after emitting an error diagnostic. `filename` names the source in
/// locations.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          const ModelAST &model,
                                          llvm::StringRef filename);

} // namespace gm

#endif // GM_COMPILER_MLIRGEN_MLIRGEN_H
