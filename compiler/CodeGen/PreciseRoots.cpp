//===- PreciseRoots.cpp - correctly rounded f32 square roots on the GPU ---===//
//
// In the CUDA kernels (gpu.module), f32 square roots as NVVM's
// round-to-nearest intrinsic, which NVPTX selects as sqrt.rn.f32: the value
// the CPU computes. MLIR's lowering would call libdevice's __nv_sqrtf, which
// compiles to sqrt.approx.f32 because LLVM 19's NVVMReflect leaves
// __CUDA_PREC_SQRT at 0, and LLVM's own sqrt intrinsic is illegal in
// gpu-to-nvvm. Adam's update and batch norm divide by these roots. A
// reciprocal root is 1 / the root (IEEE division), as on the CPU. f64 roots
// stay: libdevice's are sqrt.rn.f64.
//
// Runs in the device pipeline only, after gm-emulate-gpu copied the kernels
// to the CPU (an NVVM intrinsic has no CPU code).
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace {

struct PreciseRoots : PassWrapper<PreciseRoots, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PreciseRoots)
  StringRef getArgument() const final { return "gm-precise-gpu-roots"; }
  StringRef getDescription() const final {
    return "f32 sqrt and rsqrt in CUDA kernels as correctly rounded sqrt.rn.f32";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, LLVM::LLVMDialect>();
  }
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      if (!isa<math::SqrtOp, math::RsqrtOp>(op) || !op->getResult(0).getType().isF32())
        return;
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value root = b.create<LLVM::CallIntrinsicOp>(loc, b.getF32Type(), "llvm.nvvm.sqrt.rn.f",
                                                   op->getOperands())
                       .getResult(0);
      if (isa<math::RsqrtOp>(op))
        root = b.create<arith::DivFOp>(
            loc, b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(1.0f)), root);
      op->getResult(0).replaceAllUsesWith(root);
      op->erase();
    });
  }
};

} // namespace

std::unique_ptr<Pass> gm::createPreciseRootsPass() { return std::make_unique<PreciseRoots>(); }
