//===- Views.h - what a buffer is a view of ---------------------*- C++ -*-===//
//
// Shared by the passes that reason about aliasing on bufferized linalg
// (gm-outline-kernels, gm-parallel-loops).
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_CONVERSION_VIEWS_H
#define GM_DIALECTS_GM_CONVERSION_VIEWS_H

#include "mlir/IR/Value.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::gm {

/// The buffer |v| is a view of: |v| with every view op (subview, cast,
/// reshape, reinterpret_cast, ...) looked through.
inline Value viewRoot(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_CONVERSION_VIEWS_H
