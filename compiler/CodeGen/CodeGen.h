//===- CodeGen.h - gm to native CPU code ------------------------*- C++ -*-===//
//
// The back half of gmc: gm entry points -> linalg on tensors -> buffers ->
// LLVM dialect -> LLVM IR (O3, host CPU) -> object -> shared library, the
// artifact gmrun loads. docs/codegen.md describes the stages and the ABI.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_CODEGEN_CODEGEN_H
#define GM_COMPILER_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace gm {

/// Registers the dialects and translations code generation needs.
void registerCodeGenDialects(mlir::MLIRContext &context);

/// gm (after the training pipeline) -> linalg on tensors: gm-to-linalg,
/// then canonicalisation, CSE and elementwise fusion.
void buildLinalgPipeline(mlir::OpPassManager &pm);

/// linalg on tensors -> LLVM dialect: bufferization, BLAS calls for matrix
/// products (loops instead when |blas| is false: for measurements), loops,
/// and the conversions to LLVM.
void buildLLVMPipeline(mlir::OpPassManager &pm, bool blas = true);

/// On a module in the LLVM dialect: the ABI globals (magic, version,
/// manifest) and one `void gm_entry_<n>(void **args)` per entry point.
mlir::LogicalResult addArtifactABI(mlir::ModuleOp module);

/// Translates |module| (LLVM dialect, with the ABI) to LLVM IR, optimises it
/// at O3 for the host CPU and writes an object file (position-independent)
/// to |os|; with |llvmIR| set, writes the optimised LLVM IR as text instead.
mlir::LogicalResult emitObject(mlir::ModuleOp module, llvm::raw_pwrite_stream &os,
                               bool llvmIR, std::string &error);

/// Links the object file |objectPath| into the shared library |outPath|
/// (written to a temporary and renamed). Returns false with |error| set.
bool linkArtifact(const std::string &objectPath, const std::string &outPath,
                  std::string &error);

} // namespace gm

#endif // GM_COMPILER_CODEGEN_CODEGEN_H
