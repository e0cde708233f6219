//===- Passes.td - gm conversions to upstream dialects -----*- tablegen -*-===//

#ifndef GM_CONVERSION_PASSES_TD
#define GM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def GMToLinalgPass : Pass<"gm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "lower gm entry points to func/linalg/tensor/arith/math";
  let description = [{
    Every `gm.func` whose role is an entry point (training steps, evaluations,
    encoders, decoders) becomes a `func.func @gm_entry_<n>` with the
    artifact ABI (runtime/include/gmrt/abi.h): one memref argument per model
    parameter and optimizer slot (the state, in declaration order), then
    the entry's inputs (data, hyper-parameters as `memref<f32>`, the key as
    `memref<i64>`), then one memref per result. Parameters are read through
    `bufferization.to_tensor restrict`, `gm.assign` and results become
    `bufferization.materialize_in_destination`, so the function writes the
    caller's buffers and allocates nothing the caller must free.

    Net and function calls are inlined first. Elementwise ops become
    `linalg.generic`s (fused later by linalg's elementwise fusion), matrix
    products `linalg.matmul` (a transposed operand folds into
    `linalg.matmul_transpose_a/b`), reductions `linalg.generic` reductions,
    `gm.sample` of a normal a generic that runs Philox4x32-10 (rng.h) on
    the element index. An entry that uses an op with no lowering is
    reported with the op's location: an error for a training step, a
    warning (and the entry is dropped) otherwise.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def GMMatmulToBlasPass : Pass<"gm-matmul-to-blas", "::mlir::ModuleOp"> {
  let summary = "call the runtime's SGEMM for bufferized matrix products";
  let description = [{
    After bufferization, replaces `linalg.matmul`,
    `linalg.matmul_transpose_a` and `linalg.matmul_transpose_b` on f32
    memrefs whose rows are contiguous by a call to `gmrt_sgemm` (abi.h),
    which the runtime implements with OpenBLAS. A zero `linalg.fill` of the
    output right before the product becomes beta = 0. Products with other
    layouts stay and are lowered to loops.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::LLVM::LLVMDialect"];
}

#endif // GM_CONVERSION_PASSES_TD
