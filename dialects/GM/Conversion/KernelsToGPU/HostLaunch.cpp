//===- HostLaunch.cpp - host kernels offer themselves to a CUDA executor --===//
//
// The entries call their kernels on the host (gm-outline-kernels). For
// `gmrun --device cuda` the same call must become a launch of the CUDA
// kernel of that name (gm-kernels-to-gpu), with no second copy of the
// entries: each host kernel first asks the host to launch it,
//
//   func.func private @gm_kernel_7(%x: memref<?x20xf32>, %y: memref<?xf32>) {
//     %slots = memref.alloca() : memref<12xi64>       // the kernel's parameters
//     memref.store <x: allocated, aligned, offset, 2 sizes, 2 strides> ...
//     memref.store <y: allocated, aligned, offset, size, stride> ...
//     %points = <product of the op's parallel extents>  // here dim(%x, 0)
//     %ran = func.call @gmrt_cuda_launch(%c7_i32, <%slots' address>, %c12_i32, %points)
//     scf.if (%ran == 0) { linalg.generic ... } {gm.cpu_path}   // else on the CPU
//   }
//
// and runs its op on the CPU when the host says no (gmrun without --device
// cuda: one call that returns 0). The slots are the CUDA kernel's
// parameters as convert-gpu-to-nvvm lays them out (a memref becomes its
// descriptor's fields, ranked MLIR descriptors in memory: pointer, pointer,
// offset, sizes, strides), each in 64 bits, so the host hands
// cuLaunchKernel a pointer to each slot and nothing else about the kernel.
// The allocated pointer is not visible at this level; the aligned one
// stands in for it (a kernel never reads it). The parallel points are the
// launch's size: the CUDA kernel's grid-stride loop covers any grid, the
// host sizes it so each thread takes about one point.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMHOSTLAUNCHPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

constexpr StringLiteral kLaunch = "gmrt_cuda_launch";

/// Stores |v|, widened to 64 bits, at |slots|[|at|++].
void storeSlot(OpBuilder &b, Location loc, Value v, Value slots, int64_t &at) {
  Type i64 = b.getI64Type();
  if (v.getType().isIndex())
    v = b.create<arith::IndexCastUIOp>(loc, i64, v);
  else if (auto f = dyn_cast<FloatType>(v.getType()))
    v = b.create<arith::BitcastOp>(loc, b.getIntegerType(f.getWidth()), v);
  if (v.getType().getIntOrFloatBitWidth() < 64)
    v = b.create<arith::ExtUIOp>(loc, i64, v);
  Value index = b.create<arith::ConstantIndexOp>(loc, at++);
  b.create<memref::StoreOp>(loc, v, slots, index);
}

/// The number of 64-bit parameters |type| takes in a CUDA kernel.
int64_t slotsOf(Type type) {
  if (auto m = dyn_cast<MemRefType>(type))
    return 3 + 2 * m.getRank();
  return 1;
}

LogicalResult addLaunch(func::FuncOp host, func::FuncOp launch) {
  StringRef name = host.getSymName();
  unsigned index = 0;
  if (!name.consume_front("gm_kernel_") || name.getAsInteger(10, index))
    return host.emitError("a CUDA kernel's host function must be called gm_kernel_<N>");
  linalg::LinalgOp op;
  for (Operation &o : host.getBody().front())
    if (auto l = dyn_cast<linalg::LinalgOp>(&o))
      op = l;
  if (!op)
    return host.emitError("gm kernel without a linalg op");
  for (Type t : host.getArgumentTypes())
    if (!isa<MemRefType, IndexType, IntegerType, FloatType>(t) ||
        (!isa<MemRefType>(t) && !t.isIndex() && t.getIntOrFloatBitWidth() > 64))
      return host.emitError("cannot pass an argument of type ") << t << " to a CUDA kernel";

  OpBuilder b(op);
  Location loc = op.getLoc();
  int64_t count = 0;
  for (Type t : host.getArgumentTypes())
    count += slotsOf(t);
  Value slots = b.create<memref::AllocaOp>(loc, MemRefType::get({count}, b.getI64Type()));
  int64_t at = 0;
  for (BlockArgument arg : host.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type) {
      storeSlot(b, loc, arg, slots, at);
      continue;
    }
    Value pointer = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, arg);
    storeSlot(b, loc, pointer, slots, at); // allocated (see the header)
    storeSlot(b, loc, pointer, slots, at); // aligned
    auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, arg);
    storeSlot(b, loc, meta.getOffset(), slots, at);
    for (Value size : meta.getSizes())
      storeSlot(b, loc, size, slots, at);
    for (Value stride : meta.getStrides())
      storeSlot(b, loc, stride, slots, at);
  }
  // The launch's size: the op's parallel points (1 for a full reduction,
  // which one thread runs).
  Value points = b.create<arith::ConstantIndexOp>(loc, 1);
  SmallVector<Range> ranges = op.createLoopRanges(b, loc);
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [range, iterator] : llvm::zip(ranges, iterators))
    if (iterator == utils::IteratorType::parallel)
      points = b.createOrFold<arith::MulIOp>(
          loc, points, getValueOrCreateConstantIndexOp(b, loc, range.size));
  Value address = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, slots);
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value ran = b.create<func::CallOp>(
                   loc, launch,
                   ValueRange{b.create<arith::ConstantIntOp>(loc, index, i32),
                              b.create<arith::IndexCastUIOp>(loc, i64, address),
                              b.create<arith::ConstantIntOp>(loc, count, i32),
                              b.create<arith::IndexCastUIOp>(loc, i64, points)})
                  .getResult(0);
  Value onCPU = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, ran,
                                        b.create<arith::ConstantIntOp>(loc, 0, i32));
  auto cpu = b.create<scf::IfOp>(loc, onCPU, /*withElseRegion=*/false);
  cpu->setAttr("gm.cpu_path", b.getUnitAttr());
  // The op and whatever follows it (never more than the return, today)
  // run only on the CPU path.
  SmallVector<Operation *> rest;
  for (Operation *o = op; o && !o->hasTrait<OpTrait::IsTerminator>(); o = o->getNextNode())
    rest.push_back(o);
  for (Operation *o : rest)
    o->moveBefore(cpu.thenBlock()->getTerminator());
  return success();
}

struct HostLaunch : public mlir::gm::impl::GMHostLaunchPassBase<HostLaunch> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> hosts;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>())
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>()) {
        auto host = symbols.lookup<func::FuncOp>(kernel.getName());
        if (!host || host.getFunctionType().getInputs() != kernel.getArgumentTypes()) {
          kernel.emitError("no host kernel of this name and type to launch it from");
          return signalPassFailure();
        }
        hosts.push_back(host);
      }
    if (hosts.empty())
      return;
    OpBuilder b(module.getBodyRegion());
    auto launch = symbols.lookup<func::FuncOp>(kLaunch);
    if (!launch) {
      Type i32 = b.getI32Type(), i64 = b.getI64Type();
      launch = b.create<func::FuncOp>(module.getLoc(), kLaunch,
                                      b.getFunctionType({i32, i64, i32, i64}, {i32}));
      launch.setPrivate();
    }
    for (func::FuncOp host : hosts)
      if (failed(addLaunch(host, launch)))
        return signalPassFailure();
  }
};

} // namespace
