//===- Inline.cpp - inline gm.call ----------------------------------------===//
//
// Nets and functions are single blocks ending in gm.return, so inlining is a
// clone with the arguments mapped; used by autodiff (one function to
// differentiate) and by code generation (one function per entry point).
// Also the dead-op sweep the rewriting passes run after themselves.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::gm;

LogicalResult mlir::gm::inlineCalls(Operation *fn) {
  for (unsigned round = 0; round < 64; ++round) {
    SmallVector<CallOp> calls;
    fn->walk([&](CallOp c) { calls.push_back(c); });
    if (calls.empty())
      return success();
    for (CallOp call : calls) {
      Operation *callee =
          SymbolTable::lookupNearestSymbolFrom(call, call.getCalleeAttr());
      if (!callee || callee->getNumRegions() != 1 ||
          callee->getRegion(0).empty())
        return call.emitError() << "cannot inline a call to "
                                << call.getCalleeAttr();
      Block &body = callee->getRegion(0).front();
      IRMapping map;
      map.map(body.getArguments(), call.getOperands());
      OpBuilder b(call);
      for (Operation &op : body) {
        if (auto ret = dyn_cast<ReturnOp>(op)) {
          for (auto [r, v] : llvm::zip(call.getResults(), ret.getOperands()))
            r.replaceAllUsesWith(map.lookupOrDefault(v));
          break;
        }
        b.clone(op, map);
      }
      call.erase();
    }
  }
  return fn->emitError() << "calls nest more than 64 deep";
}

void mlir::gm::eraseDeadOps(Block &block) {
  for (bool changed = true; changed;) {
    changed = false;
    SmallVector<Operation *> all;
    for (Operation &op : block)
      all.push_back(&op);
    for (Operation *op : llvm::reverse(all))
      if (isOpTriviallyDead(op)) {
        op->erase();
        changed = true;
      }
  }
}
