//===- OpHelpers.h - what the gm op files share -------------------*- C++ -*-===//
//
// Small helpers of the verifiers, shape rules and gradient rules
// (GMOps.cpp, GMShapes.cpp, GMGradients.cpp). Not part of the dialect's
// interface: only those files include it.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_IR_OPHELPERS_H
#define GM_DIALECTS_GM_IR_OPHELPERS_H

#include "dialects/GM/IR/GMOps.h"

namespace mlir::gm::ophelpers {

inline RankedTensorType rt(Type type) { return cast<RankedTensorType>(type); }
inline RankedTensorType rt(Value value) { return rt(value.getType()); }

/// True if `type` is (B, ...) with a dynamic batch and static other dims.
inline bool isBatched(RankedTensorType type) {
  return type.getRank() >= 1 && type.isDynamicDim(0) &&
         !ShapedType::isDynamicShape(type.getShape().drop_front());
}

inline LogicalResult expectBatched(Operation *op, Type type, StringRef what) {
  if (!isBatched(rt(type)))
    return op->emitOpError() << "expects " << what
                             << " with a dynamic batch dimension first and "
                                "static dimensions after it, got "
                             << type;
  return success();
}

} // namespace mlir::gm::ophelpers

#endif // GM_DIALECTS_GM_IR_OPHELPERS_H
