//===- Passes.h - gmc's own passes on upstream dialects ---------*- C++ -*-===//
//
// Passes of the CPU and CUDA pipelines that work on linalg and math alone, one per
// file beside this header; gm-opt registers them (registerCodeGenPasses).
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_CODEGEN_PASSES_H
#define GM_COMPILER_CODEGEN_PASSES_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace gm {

/// gm-fuse-elementwise (FuseElementwise.cpp): a parallel generic into the
/// one generic that reads it, keeping matrix products named ops.
std::unique_ptr<mlir::Pass> createFuseElementwisePass();

/// gm-approximate-math (ApproximateMath.cpp): exp, log, tanh, ... as f32
/// polynomials LLVM vectorises with the loops around them.
std::unique_ptr<mlir::Pass> createApproximateMathPass();

/// gm-precise-gpu-roots (PreciseRoots.cpp): f32 sqrt and rsqrt in CUDA
/// kernels as the correctly rounded sqrt.rn.f32, as the CPU computes them.
std::unique_ptr<mlir::Pass> createPreciseRootsPass();

} // namespace gm

#endif // GM_COMPILER_CODEGEN_PASSES_H
