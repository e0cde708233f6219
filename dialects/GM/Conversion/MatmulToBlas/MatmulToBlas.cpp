//===- MatmulToBlas.cpp - bufferized matrix products to gmrt_sgemm --------===//
//
// linalg's loops reach 3-4 GFLOP/s on a 256x784x400 product, the runtime's
// OpenBLAS 112-254 GFLOP/s (TOOLCHAIN.md; docs/codegen.md has gm's own
// measurement): every f32 product over row-contiguous memrefs becomes one
// call of
//
//   void gmrt_sgemm(int32_t transA, int32_t transB, int64_t m, int64_t n,
//                   int64_t k, const float *a, int64_t lda, const float *b,
//                   int64_t ldb, float beta, float *c, int64_t ldc);
//
// C = op(A) op(B) + beta C, row-major, declared in abi.h and provided by the
// program that loads the artifact.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMMATMULTOBLASPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

constexpr StringLiteral kSgemm = "gmrt_sgemm";

/// Rows contiguous: the innermost stride is statically 1.
bool rowContiguous(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  if (!t || t.getRank() != 2 || !t.getElementType().isF32())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(t, strides, offset)) && strides[1] == 1;
}

/// The zero fill of |c| right before |op| (nothing else touching |c| in
/// between), or null.
linalg::FillOp zeroFillBefore(Operation *op, Value c) {
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (!llvm::is_contained(prev->getOperands(), c))
      continue;
    auto fill = dyn_cast<linalg::FillOp>(prev);
    if (!fill || fill.getOutputs()[0] != c)
      return nullptr;
    auto cst = fill.getInputs()[0].getDefiningOp<arith::ConstantOp>();
    auto f = cst ? dyn_cast<FloatAttr>(cst.getValue()) : FloatAttr();
    return f && f.getValue().isZero() ? fill : nullptr;
  }
  return nullptr;
}

struct MatmulToBlas : public mlir::gm::impl::GMMatmulToBlasPassBase<MatmulToBlas> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    auto ptrType = LLVM::LLVMPointerType::get(module.getContext());
    Type i32 = b.getI32Type(), i64 = b.getI64Type(), f32 = b.getF32Type();
    func::FuncOp decl;

    SmallVector<Operation *> products;
    module.walk([&](Operation *op) {
      if (isa<linalg::MatmulOp, linalg::MatmulTransposeAOp, linalg::MatmulTransposeBOp>(op))
        products.push_back(op);
    });
    for (Operation *op : products) {
      auto lin = cast<linalg::LinalgOp>(op);
      if (!lin.hasPureBufferSemantics())
        continue;
      Value a = lin.getDpsInputs()[0], bm = lin.getDpsInputs()[1], c = lin.getDpsInits()[0];
      if (!rowContiguous(a) || !rowContiguous(bm) || !rowContiguous(c))
        continue;
      if (!decl) {
        b.setInsertionPointToEnd(module.getBody());
        decl = b.create<func::FuncOp>(
            module.getLoc(), kSgemm,
            b.getFunctionType({i32, i32, i64, i64, i64, ptrType, i64, ptrType, i64, f32, ptrType, i64},
                              {}));
        decl.setPrivate();
      }
      Location loc = op->getLoc();
      b.setInsertionPoint(op);
      bool ta = isa<linalg::MatmulTransposeAOp>(op), tb = isa<linalg::MatmulTransposeBOp>(op);
      float beta = 1.0f;
      if (linalg::FillOp fill = zeroFillBefore(op, c)) {
        fill.erase();
        beta = 0.0f;
      }
      // Pointer to the first element and the leading dimension of a matrix.
      auto view = [&](Value m) -> std::pair<Value, Value> {
        auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, m);
        Value base = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, m);
        Value offsetBytes = b.create<arith::MulIOp>(
            loc, meta.getOffset(), b.create<arith::ConstantIndexOp>(loc, 4));
        // The aligned pointer is the buffer's start; a view adds its offset.
        Value addr = b.create<arith::IndexCastOp>(loc, i64, b.create<arith::AddIOp>(loc, base, offsetBytes));
        Value ptr = b.create<LLVM::IntToPtrOp>(loc, ptrType, addr);
        Value ld = b.create<arith::IndexCastOp>(loc, i64, meta.getStrides()[0]);
        return {ptr, ld};
      };
      auto dimOf = [&](Value m, int64_t d) -> Value {
        return b.create<arith::IndexCastOp>(loc, i64, b.create<memref::DimOp>(loc, m, d));
      };
      auto [pa, lda] = view(a);
      auto [pb, ldb] = view(bm);
      auto [pc, ldc] = view(c);
      Value mDim = dimOf(c, 0), nDim = dimOf(c, 1), kDim = ta ? dimOf(a, 0) : dimOf(a, 1);
      Value args[] = {b.create<arith::ConstantIntOp>(loc, ta, 32),
                      b.create<arith::ConstantIntOp>(loc, tb, 32),
                      mDim, nDim, kDim, pa, lda, pb, ldb,
                      b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(beta)),
                      pc, ldc};
      b.create<func::CallOp>(loc, decl, args);
      op->erase();
    }
  }
};

} // namespace
