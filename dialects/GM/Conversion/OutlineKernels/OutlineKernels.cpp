//===- OutlineKernels.cpp - linalg ops as shared kernel functions ---------===//
//
// gm inlines every net call into every entry point (autodiff differentiates
// one function), so a net used by three losses is three copies of each of its
// loops, and LLVM optimised and compiled every copy: DCGAN's entries make 220
// kernel calls to 104 kernels, PixelRNN's 602 to 52 (its rows' steps are the
// same ops at other offsets). This pass gives each distinct op one function,
//
//   linalg.generic ins(%x : memref<?x400xf32>) outs(%y : memref<?x400xf32>)
//
// becomes
//
//   func.call @gm_kernel_3(%x, %y) : (memref<?x400xf32>, memref<?x400xf32>) -> ()
//   func.func private @gm_kernel_3(%a: memref<?x400xf32>, %b: memref<?x400xf32>)
//       attributes {gm.kernel} { linalg.generic ins(%a) outs(%b) ...; return }
//
// and every op that is the same up to its operands calls that one function, so
// the code is proportional to the model, not to how often it is called. The
// call costs nothing measurable next to a loop nest over a batch. A kernel's
// operands are the op's, each distinct Value once (an in-place op keeps its
// input and output one argument), then the values its payload uses from
// outside; constants are cloned in, so they stay constants for LLVM.
//
// Runs on buffers after gm-matmul-to-blas, before gm-parallel-loops, which
// then divides each kernel's loop over the threads. A buffer a kernel
// writes is, at every call, viewed by no other of its distinct memref
// arguments: gmc marks their pointers noalias (so LLVM vectorises without
// overlap checks), and gm-parallel-loops takes an output and a distinct
// input to be distinct buffers. So an op that writes a buffer another of
// its operands may view (views of one allocation, or of a buffer a loop
// carries, whose root is unknown) stays where it is; inputs that are views
// of one buffer are fine. A static
// offset in an argument's type becomes dynamic (a memref.cast at the call),
// so the same op on another row of a buffer is the same kernel. CUDA
// (docs/cuda.md) starts from the same kernels.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/Conversion/Views.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMOUTLINEKERNELSPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

/// The buffer a view is a view of, when it is known to be a buffer of its
/// own: an allocation, an argument of the entry point (the host passes each
/// parameter, state and batch buffer separately) or a global (read only).
/// Null for anything else, a loop's memref argument for one.
Value distinctRootOf(Value v) {
  v = mlir::gm::viewRoot(v);
  if (auto arg = dyn_cast<BlockArgument>(v))
    return isa<func::FuncOp>(arg.getOwner()->getParentOp()) && arg.getOwner()->isEntryBlock()
               ? v
               : Value();
  return v.getDefiningOp<memref::AllocOp>() || v.getDefiningOp<memref::AllocaOp>() ||
                 v.getDefiningOp<memref::GetGlobalOp>()
             ? v
             : Value();
}

/// Whether |op|'s kernel may mark its pointer arguments noalias at every
/// call: each buffer it writes is a view of a buffer no other distinct
/// operand views. Operands it only reads may share a buffer (a row LSTM's
/// step reads three gates, views of one allocation at three offsets):
/// LLVM's noalias promises nothing about memory that is not written.
bool operandsDistinct(linalg::LinalgOp op) {
  SmallVector<Value> distinct;
  for (Value v : op->getOperands())
    if (isa<MemRefType>(v.getType()) && !llvm::is_contained(distinct, v))
      distinct.push_back(v);
  SmallVector<Value> roots;
  for (Value v : distinct) {
    Value root = distinctRootOf(v);
    if (!root)
      return false;
    roots.push_back(root);
  }
  for (OpOperand &init : op.getDpsInitsMutable()) {
    Value written = roots[llvm::find(distinct, init.get()) - distinct.begin()];
    for (size_t i = 0; i < distinct.size(); ++i)
      if (distinct[i] != init.get() && roots[i] == written)
        return false;
  }
  return true;
}

/// |type| with a static offset made dynamic: the views a net's copies take
/// at different offsets (the rows of a sequence) share one kernel. Strides
/// stay static, so a unit inner stride still vectorises.
Type kernelArgType(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref)
    return type;
  auto strided = dyn_cast<StridedLayoutAttr>(memref.getLayout());
  if (!strided || ShapedType::isDynamic(strided.getOffset()))
    return type;
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic,
                                       strided.getStrides());
  return MemRefType::get(memref.getShape(), memref.getElementType(), layout,
                         memref.getMemorySpace());
}

struct OutlineKernels : public mlir::gm::impl::GMOutlineKernelsPassBase<OutlineKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    module.walk([&](func::FuncOp fn) {
      if (fn->hasAttr("gm.kernel"))
        return;
      fn.walk([&](linalg::LinalgOp op) {
        if (op.hasPureBufferSemantics() && op.getNumLoops() > 0 && operandsDistinct(op))
          ops.push_back(op);
      });
    });
    // Each distinct kernel's text (its body, printed without locations)
    // to its function.
    llvm::StringMap<func::FuncOp> kernels;
    SymbolTable symbols(module);
    OpBuilder b(&getContext());
    OpPrintingFlags flags;
    flags.enableDebugInfo(false);
    for (linalg::LinalgOp op : ops) {
      Location loc = op.getLoc();
      SmallVector<Value> args;
      for (Value v : op->getOperands())
        if (!llvm::is_contained(args, v))
          args.push_back(v);
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      SmallVector<Operation *> constants;
      for (Value v : captured) {
        if (matchPattern(v, m_Constant()))
          constants.push_back(v.getDefiningOp());
        else if (!llvm::is_contained(args, v))
          args.push_back(v);
      }
      SmallVector<Type> types;
      for (Value v : args)
        types.push_back(kernelArgType(v.getType()));
      auto fn = func::FuncOp::create(loc, "gm_kernel", b.getFunctionType(types, {}));
      Block *body = fn.addEntryBlock();
      IRMapping map;
      map.map(args, body->getArguments());
      b.setInsertionPointToStart(body);
      for (Operation *c : constants)
        b.clone(*c, map);
      b.clone(*op, map);
      b.create<func::ReturnOp>(loc);
      std::string text;
      llvm::raw_string_ostream os(text);
      fn.print(os, flags);
      auto [it, fresh] = kernels.try_emplace(text, fn);
      if (fresh) {
        fn.setPrivate();
        fn->setAttr("gm.kernel", b.getUnitAttr());
        fn.setSymName("gm_kernel_" + std::to_string(kernels.size() - 1));
        symbols.insert(fn);
      } else {
        fn.erase();
      }
      b.setInsertionPoint(op);
      for (size_t i = 0; i < args.size(); ++i)
        if (args[i].getType() != types[i])
          args[i] = b.create<memref::CastOp>(loc, types[i], args[i]);
      b.create<func::CallOp>(loc, it->second, args);
      op->erase();
    }
  }
};

} // namespace
