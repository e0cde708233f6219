//===- ParallelLoops.cpp - large linalg ops as OpenMP worksharing loops ---===//
//
// oneDNN runs products and convolutions on every core gmrun is given; the
// loops gm generates itself (elementwise chains, reductions, sampling,
// optimizer updates) ran on one. At two threads that left a VAE step's
// generated loops, a quarter of it, serial. This pass splits each large one
// over the threads:
//
//   linalg.generic ins(%x : memref<?x400xf32>) outs(%y : memref<?x400xf32>)
//
// becomes (t0 rows of 400 per parallel iteration, about `grain` elements)
//
//   omp.parallel if(%B * 400 * cost >= min-work) {
//     omp.wsloop nowait {
//       omp.loop_nest (%i) : index = (%c0) to (%B) step (%t0) {
//         linalg.generic on memref.subview %x[%i, 0] [min(t0, B - i), 400]
//         omp.yield
//     } omp.terminator } omp.terminator }
//
// LLVM's OpenMPIRBuilder outlines the body and calls OpenMP's fork and
// static-schedule entry points (__kmpc_*), which gmc renames gmrt_omp_* and
// gmrun implements on libgomp, the pool oneDNN already uses (abi.h).
//
// An op qualifies when its first loop is parallel and every output is
// indexed by that loop directly (two parallel iterations never write one
// element), an input that shares a buffer with an output is that output,
// read where it is written (an in-place op reads only what it writes), and
// its payload has no side effects. Each thread computes whole elements
// exactly as one thread would, so results do not depend on the number of
// threads.
//
// A one-dimensional scf.forall on buffers, whose iterations share nothing
// by construction (NADE's chunks of hidden units, each a whole recurrence:
// GMToLinalg/Autoregressive.cpp), becomes the same worksharing loop over its
// iterations, always in parallel.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/Conversion/Views.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMPARALLELLOOPSPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

/// What a dynamic size (the batch) is taken to be at most when deciding
/// whether an op could ever be worth a parallel region.
constexpr int64_t kLargestDynamic = 1024;

/// Whether |op| may run its first loop's iterations on several threads.
bool splittable(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 ||
      !linalg::isParallelIterator(op.getIteratorTypesArray()[0]))
    return false;
  AffineExpr d0 = getAffineDimExpr(0, op.getContext());
  for (OpOperand &init : op.getDpsInitsMutable()) {
    if (!llvm::is_contained(op.getMatchingIndexingMap(&init).getResults(), d0))
      return false;
    for (OpOperand *input : op.getDpsInputOperands())
      if (mlir::gm::viewRoot(input->get()) == mlir::gm::viewRoot(init.get()) &&
          (input->get() != init.get() ||
           op.getMatchingIndexingMap(input) != op.getMatchingIndexingMap(&init)))
        return false;
  }
  return llvm::all_of(op.getBlock()->without_terminator(),
                      [](Operation &o) { return isMemoryEffectFree(&o); });
}

/// The payload's cost per iteration: one per op, a function that becomes a
/// polynomial (gm-approximate-math) or a libm call eight.
int64_t payloadCost(linalg::LinalgOp op) {
  int64_t cost = 0;
  for (Operation &o : op.getBlock()->without_terminator())
    cost += isa<math::MathDialect>(o.getDialect()) && !isa<math::FmaOp, math::AbsFOp>(o) ? 8 : 1;
  return std::max<int64_t>(cost, 1);
}

/// |loop| (no results), its iterations from |lower| to |upper| by |step|
/// with induction variable |iv| in |old|, as an OpenMP parallel worksharing
/// loop that runs when |cond| holds, and on the calling thread otherwise.
void toWorksharing(OpBuilder &b, Operation *loop, Value lower, Value upper, Value step, Value iv,
                   Block *old, Value cond) {
  Location loc = loop->getLoc();
  b.setInsertionPoint(loop);
  omp::ParallelClauseOps parallelClauses;
  parallelClauses.ifVar = cond;
  auto parallel = b.create<omp::ParallelOp>(loc, parallelClauses);
  b.createBlock(&parallel.getRegion());
  // nowait: the join at the end of the parallel region already waits.
  omp::WsloopClauseOps loopClauses;
  loopClauses.nowaitAttr = b.getUnitAttr();
  auto wsloop = b.create<omp::WsloopOp>(loc, loopClauses);
  b.create<omp::TerminatorOp>(loc);
  b.createBlock(&wsloop.getRegion());
  auto nest = b.create<omp::LoopNestOp>(loc, ValueRange{lower}, ValueRange{upper},
                                        ValueRange{step});
  b.create<omp::TerminatorOp>(loc);
  Block *body = b.createBlock(&nest.getRegion(), {}, {b.getIndexType()}, {loc});
  iv.replaceAllUsesWith(body->getArgument(0));
  body->getOperations().splice(body->end(), old->getOperations(), old->begin(),
                               std::prev(old->end()));
  b.setInsertionPointToEnd(body);
  b.create<omp::YieldOp>(loc, ValueRange{});
  loop->erase();
}

void toWorksharing(OpBuilder &b, scf::ForOp loop, Value cond) {
  toWorksharing(b, loop, loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                loop.getInductionVar(), loop.getBody(), cond);
}

/// An scf.forall on buffers: iterations that share nothing by construction
/// (NADE's chunks of hidden units, each a whole recurrence; GMToLinalg's
/// Autoregressive.cpp), each far above min-work, so always a parallel region.
void toWorksharing(OpBuilder &b, scf::ForallOp loop) {
  b.setInsertionPoint(loop);
  Location loc = loop.getLoc();
  toWorksharing(b, loop, loop.getLowerBound(b)[0], loop.getUpperBound(b)[0],
                loop.getStep(b)[0], loop.getInductionVars()[0], loop.getBody(),
                b.create<arith::ConstantIntOp>(loc, 1, 1));
}

struct ParallelLoops : public mlir::gm::impl::GMParallelLoopsPassBase<ParallelLoops> {
  using GMParallelLoopsPassBase::GMParallelLoopsPassBase;

  void runOnOperation() override {
    SmallVector<scf::ForallOp> foralls;
    getOperation().walk([&](scf::ForallOp loop) {
      if (loop.getRank() == 1 && loop.getNumResults() == 0 && !loop.getMapping())
        foralls.push_back(loop);
    });
    OpBuilder builder(&getContext());
    for (scf::ForallOp loop : foralls)
      toWorksharing(builder, loop);
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (splittable(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      Location loc = op.getLoc();
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      // Rows of the inner loops per parallel iteration: about `grain`
      // elements, so a [B, 20] op's iterations are not 20 elements each.
      int64_t inner = 1;
      for (int64_t r : ArrayRef(ranges).drop_front())
        inner = ShapedType::isDynamic(r) || inner > grain ? grain + 1 : inner * r;
      int64_t tile = std::max<int64_t>(1, (grain + inner - 1) / inner);
      int64_t cost = payloadCost(op);
      if (!ShapedType::isDynamic(ranges[0]) && ranges[0] < 2 * tile)
        continue; // one tile: nothing to divide
      // The work, known or computed from the sizes at run time. An op that
      // stays under min-work even with every dynamic size at kLargestDynamic
      // (a batch of 1024) gets no parallel region: each costs code size
      // and compile time.
      int64_t work = cost;
      for (int64_t r : ranges)
        work = work > minWork ? work : work * (ShapedType::isDynamic(r) ? kLargestDynamic : r);
      if (work < minWork)
        continue;
      rewriter.setInsertionPoint(op);
      Value cond;
      if (!ShapedType::isDynamicShape(ranges)) {
        cond = rewriter.create<arith::ConstantIntOp>(loc, 1, 1);
      } else {
        Value actual = rewriter.create<arith::ConstantIndexOp>(loc, cost);
        for (Range r : op.createLoopRanges(rewriter, loc))
          actual = rewriter.create<arith::MulIOp>(
              loc, actual, getValueOrCreateConstantIndexOp(rewriter, loc, r.size));
        cond = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, actual,
                                              rewriter.create<arith::ConstantIndexOp>(loc, minWork));
      }
      linalg::LinalgTilingOptions options;
      options.setTileSizes(ArrayRef<int64_t>{tile});
      options.setLoopType(linalg::LinalgTilingLoopType::Loops);
      FailureOr<linalg::TiledLinalgOp> tiled = linalg::tileLinalgOp(rewriter, op, options);
      if (failed(tiled) || tiled->loops.size() != 1) {
        op.emitError("gm-parallel-loops: cannot tile the first loop");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
      toWorksharing(rewriter, cast<scf::ForOp>(tiled->loops[0]), cond);
    }
  }
};

} // namespace
