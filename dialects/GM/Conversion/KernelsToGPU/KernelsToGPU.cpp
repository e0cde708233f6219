//===- KernelsToGPU.cpp - gm kernels as CUDA kernel functions -------------===//
//
// The CUDA back end (docs/cuda.md) starts from the kernels gm-outline-kernels
// made: each `func.func @gm_kernel_N {gm.kernel}` holds one linalg op on
// buffers. This pass writes each as a `gpu.func` of the same name and
// arguments in `gpu.module @gm_kernels`, one thread per point of the op's
// parallel loops and its reduction loops in that thread:
//
//   gpu.func @gm_kernel_1(%x: memref<?x20xf32>, %y: memref<?xf32>) kernel {
//     %n = <product of the parallel extents>           // here dim(%x, 0)
//     scf.for %i = %gid to %n step %threads {          // grid-stride
//       %i0 = <%i delinearised over the parallel extents>
//       scf.for %j = 0 to 20 { y[i0] = f(x[i0, j], y[i0]) }   // reductions
//     }
//   }
//
// where %gid = block_id.x * block_dim.x + thread_id.x and %threads =
// grid_dim.x * block_dim.x. The loop strides by the grid, so a launch of any
// size computes the whole op: the host picks the grid. A thread owns the
// output elements of its parallel point (an output is indexed by parallel
// loops only), so threads never write one element twice and the result does
// not depend on the launch, as on the CPU, where reductions run in loop order
// too. An op with no parallel loop (a loss summed to a scalar) runs in one
// thread; a tree reduction is the next step (docs/cuda.md).
//
// The host kernels stay: the CPU path still calls them. The gpu.module is
// compiled to PTX by gmc's CUDA pipeline (nvvm-attach-target,
// convert-gpu-to-nvvm, gpu-module-to-binary) before the host code is lowered.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMKERNELSTOGPUPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

/// The permutation of |op|'s loops that puts its parallel loops first, in
/// their order, then its reductions.
SmallVector<unsigned> parallelFirst(linalg::LinalgOp op, unsigned &numParallel) {
  SmallVector<unsigned> perm;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (iterators[i] == utils::IteratorType::parallel)
      perm.push_back(i);
  numParallel = perm.size();
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (iterators[i] != utils::IteratorType::parallel)
      perm.push_back(i);
  return perm;
}

/// Rewrites the one linalg op in |fn| (a gpu.func, the kernel's body cloned
/// in) as the grid-stride loop above. Fails with a diagnostic on an op it
/// cannot lower.
LogicalResult threadPerPoint(gpu::GPUFuncOp fn) {
  linalg::LinalgOp op;
  fn.walk([&](linalg::LinalgOp found) { op = found; });
  if (!op)
    return fn.emitError("gm kernel without a linalg op");
  IRRewriter rewriter(fn.getContext());
  // (Each step replaces the op, so the insertion point is set anew.)
  rewriter.setInsertionPoint(op);
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    FailureOr<linalg::GenericOp> generalized = linalg::generalizeNamedOp(rewriter, op);
    if (failed(generalized))
      return op.emitError("cannot write this op as a linalg.generic for CUDA");
    generic = *generalized;
  }
  unsigned numParallel = 0;
  SmallVector<unsigned> perm = parallelFirst(generic, numParallel);
  if (!llvm::equal(perm, llvm::seq<unsigned>(0, perm.size()))) {
    rewriter.setInsertionPoint(generic);
    FailureOr<linalg::GenericOp> swapped = linalg::interchangeGenericOp(rewriter, generic, perm);
    if (failed(swapped))
      return generic.emitError("cannot put this op's parallel loops first for CUDA");
    generic = *swapped;
  }
  Location loc = generic.getLoc();
  Type index = rewriter.getIndexType();
  rewriter.setInsertionPoint(generic);
  Value bid = rewriter.create<gpu::BlockIdOp>(loc, index, gpu::Dimension::x);
  Value bdim = rewriter.create<gpu::BlockDimOp>(loc, index, gpu::Dimension::x);
  Value tid = rewriter.create<gpu::ThreadIdOp>(loc, index, gpu::Dimension::x);
  Value gdim = rewriter.create<gpu::GridDimOp>(loc, index, gpu::Dimension::x);
  Value gid = rewriter.create<arith::AddIOp>(loc, rewriter.create<arith::MulIOp>(loc, bid, bdim), tid);
  Value threads = rewriter.create<arith::MulIOp>(loc, gdim, bdim);
  if (numParallel == 0) {
    // Every loop reduces into the same outputs: the first thread alone runs
    // the op, the others would race on them.
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value first = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, gid, zero);
    auto only = rewriter.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    rewriter.moveOpBefore(generic, only.thenBlock()->getTerminator());
    rewriter.setInsertionPoint(generic);
    if (failed(linalg::linalgOpToLoops(rewriter, generic)))
      return generic.emitError("cannot write this op as loops for CUDA");
    rewriter.eraseOp(generic);
    return success();
  }
  // A perfect nest of scf.for, the parallel loops outermost; their bounds
  // are computed before the nest.
  FailureOr<linalg::LinalgLoops> loops = linalg::linalgOpToLoops(rewriter, generic);
  if (failed(loops))
    return generic.emitError("cannot write this op as loops for CUDA");
  rewriter.eraseOp(generic);
  SmallVector<scf::ForOp> outer;
  for (unsigned i = 0; i < numParallel; ++i)
    outer.push_back(cast<scf::ForOp>((*loops)[i]));

  rewriter.setInsertionPoint(outer.front());
  // Extents of the parallel loops, and their product.
  SmallVector<Value> extents;
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  Value total = one;
  for (scf::ForOp loop : outer) {
    // ceil((ub - lb) / step); linalg's loops have lb 0 and step 1, which fold.
    Value span = rewriter.createOrFold<arith::SubIOp>(loc, loop.getUpperBound(), loop.getLowerBound());
    Value stepLess = rewriter.createOrFold<arith::SubIOp>(loc, loop.getStep(), one);
    Value extent = rewriter.createOrFold<arith::DivUIOp>(
        loc, rewriter.createOrFold<arith::AddIOp>(loc, span, stepLess), loop.getStep());
    extents.push_back(extent);
    total = rewriter.createOrFold<arith::MulIOp>(loc, total, extent);
  }
  auto stride = rewriter.create<scf::ForOp>(loc, gid, total, threads);

  // Inside: the point's indices, innermost loop fastest, then the
  // innermost parallel loop's body with its induction variables replaced.
  rewriter.setInsertionPointToStart(stride.getBody());
  Value rest = stride.getInductionVar();
  SmallVector<Value> ivs(numParallel);
  for (int i = numParallel - 1; i >= 0; --i) {
    Value k = i == 0 ? rest : rewriter.createOrFold<arith::RemUIOp>(loc, rest, extents[i]);
    if (i > 0)
      rest = rewriter.createOrFold<arith::DivUIOp>(loc, rest, extents[i]);
    ivs[i] = rewriter.createOrFold<arith::AddIOp>(
        loc, outer[i].getLowerBound(),
        rewriter.createOrFold<arith::MulIOp>(loc, k, outer[i].getStep()));
  }
  Block *inner = outer.back().getBody();
  rewriter.eraseOp(inner->getTerminator());
  // The innermost loop's block has its induction variable only; the outer
  // ones are used inside it as values defined above.
  rewriter.inlineBlockBefore(inner, stride.getBody()->getTerminator(), {ivs.back()});
  for (unsigned i = 0; i + 1 < numParallel; ++i)
    rewriter.replaceAllUsesWith(outer[i].getInductionVar(), ivs[i]);
  rewriter.eraseOp(outer.front());
  return success();
}

struct KernelsToGPU : public mlir::gm::impl::GMKernelsToGPUPassBase<KernelsToGPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("gm.kernel"))
        kernels.push_back(fn);
    if (kernels.empty())
      return;
    OpBuilder b(&getContext());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = b.create<gpu::GPUModuleOp>(module.getLoc(), "gm_kernels");
    for (func::FuncOp kernel : kernels) {
      b.setInsertionPoint(gpuModule.getBody()->getTerminator());
      auto fn = b.create<gpu::GPUFuncOp>(kernel.getLoc(), kernel.getSymName(),
                                         kernel.getFunctionType());
      fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
      IRMapping map;
      map.map(kernel.getArguments(), fn.getArguments());
      b.setInsertionPointToEnd(&fn.getBody().front());
      for (Operation &op : kernel.getBody().front().without_terminator())
        b.clone(op, map);
      b.create<gpu::ReturnOp>(kernel.getLoc());
      if (failed(threadPerPoint(fn)))
        return signalPassFailure();
    }
  }
};

} // namespace
