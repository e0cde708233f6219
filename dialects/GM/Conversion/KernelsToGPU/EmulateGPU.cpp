//===- EmulateGPU.cpp - CUDA kernels run on the CPU, for tests ------------===//
//
// No GPU runs in CI, yet the kernels gm-kernels-to-gpu writes should be
// checked on real models: their thread mapping (the grid-stride loop, the
// delinearised index, the first-thread guard of a full reduction) is where
// a CUDA back end goes wrong. This pass runs them on the CPU instead. Each
// `gpu.func @K` of `gpu.module @gm_kernels` becomes
//
//   func.func private @K_thread(<K's arguments>, %block, %blockDim,
//                               %thread, %gridDim)
//
// (its body, with gpu.block_id x and the like replaced by those arguments),
// and the host kernel @K, which the entries call, runs every thread of a
// grid in turn:
//
//   scf.for %b = 0 to grid { scf.for %t = 0 to block {
//     func.call @K_thread(<args>, %b, block, %t, grid) } }
//
// The gpu.module is erased; the CPU pipeline goes on as before. The default
// grid (3 blocks of 5 threads) is small and odd, so most ops take several
// strides, the last one ragged, and a small op leaves threads idle. Threads
// run one after another, so this checks what each thread computes, not the
// absence of races between them; an op two threads would both write (a
// reduction missing its guard) still shows, as a doubled result.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMEMULATEGPUPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

struct EmulateGPU : public mlir::gm::impl::GMEmulateGPUPassBase<EmulateGPU> {
  using GMEmulateGPUPassBase::GMEmulateGPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (grid < 1 || block < 1) {
      module.emitError("gm-emulate-gpu needs grid and block of at least 1");
      return signalPassFailure();
    }
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    SymbolTable symbols(module);
    OpBuilder b(&getContext());
    for (gpu::GPUModuleOp gpuModule : gpuModules) {
      for (auto kernel : llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>())) {
        auto host = symbols.lookup<func::FuncOp>(kernel.getName());
        if (!host || host.getFunctionType().getInputs() != kernel.getArgumentTypes()) {
          kernel.emitError("no host kernel of this name and type to emulate it in");
          return signalPassFailure();
        }
        Location loc = kernel.getLoc();
        Type index = b.getIndexType();
        // @K_thread: the kernel's body as one thread's function.
        SmallVector<Type> types(kernel.getArgumentTypes());
        types.append(4, index); // block id, block size, thread id, grid size
        b.setInsertionPoint(host);
        auto thread = b.create<func::FuncOp>(loc, (kernel.getName() + "_thread").str(),
                                             b.getFunctionType(types, {}));
        thread.setPrivate();
        Block *entry = thread.addEntryBlock();
        IRMapping map;
        map.map(kernel.getArguments(), entry->getArguments().take_front(kernel.getNumArguments()));
        ValueRange ids = entry->getArguments().take_back(4);
        b.setInsertionPointToStart(entry);
        if (!kernel.getBody().hasOneBlock()) {
          kernel.emitError("gm-emulate-gpu expects a kernel of one block");
          return signalPassFailure();
        }
        for (Operation &op : kernel.getBody().front()) {
          if (isa<gpu::ReturnOp>(op)) {
            b.create<func::ReturnOp>(op.getLoc());
            continue;
          }
          b.clone(op, map);
        }
        WalkResult walk = thread.walk([&](Operation *op) {
          Value replacement;
          if (auto id = dyn_cast<gpu::BlockIdOp>(op))
            replacement = id.getDimension() == gpu::Dimension::x ? ids[0] : Value();
          else if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
            replacement = dim.getDimension() == gpu::Dimension::x ? ids[1] : Value();
          else if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
            replacement = id.getDimension() == gpu::Dimension::x ? ids[2] : Value();
          else if (auto dim = dyn_cast<gpu::GridDimOp>(op))
            replacement = dim.getDimension() == gpu::Dimension::x ? ids[3] : Value();
          else if (isa<gpu::GPUDialect>(op->getDialect()))
            return op->emitError("gm-emulate-gpu cannot run this op on the CPU"),
                   WalkResult::interrupt();
          else
            return WalkResult::advance();
          if (!replacement)
            return op->emitError("gm-emulate-gpu runs a one-dimensional grid only"),
                   WalkResult::interrupt();
          op->replaceAllUsesWith(ValueRange{replacement});
          op->erase();
          return WalkResult::skip();
        });
        if (walk.wasInterrupted())
          return signalPassFailure();

        // The host kernel: every thread of the grid in turn, in place of
        // its CPU path (gm-host-launch) or of its whole body.
        Block *body = &host.getBody().front();
        host.walk([&](scf::IfOp cpu) {
          if (cpu->hasAttr("gm.cpu_path"))
            body = cpu.thenBlock();
        });
        bool whole = body == &host.getBody().front();
        if (whole) {
          body->clear();
        } else {
          // (Last first: an op's users go before it.)
          while (&body->front() != body->getTerminator())
            body->getTerminator()->getPrevNode()->erase();
        }
        b.setInsertionPointToStart(body);
        Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
        Value one = b.create<arith::ConstantIndexOp>(loc, 1);
        Value blocks = b.create<arith::ConstantIndexOp>(loc, grid);
        Value threads = b.create<arith::ConstantIndexOp>(loc, block);
        auto blockLoop = b.create<scf::ForOp>(loc, zero, blocks, one);
        b.setInsertionPointToStart(blockLoop.getBody());
        auto threadLoop = b.create<scf::ForOp>(loc, zero, threads, one);
        b.setInsertionPointToStart(threadLoop.getBody());
        SmallVector<Value> args(host.getArguments());
        args.append({blockLoop.getInductionVar(), threads, threadLoop.getInductionVar(), blocks});
        b.create<func::CallOp>(loc, thread, args);
        if (whole) {
          b.setInsertionPointToEnd(body);
          b.create<func::ReturnOp>(loc);
        }
      }
      if (!keepGPUModule)
        gpuModule.erase();
    }
    if (!keepGPUModule)
      module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
