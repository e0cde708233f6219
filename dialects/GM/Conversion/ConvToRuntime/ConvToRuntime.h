//===- ConvToRuntime.h - convolutions as calls of gmrt_conv2d ----*- C++ -*-===//
//
// gm-conv-to-runtime (ConvToRuntime.cpp) rewrites convolutions into
// gm.host_conv2d; its bufferization (Bufferize.cpp) makes each one a call
// of the host's gmrt_conv2d (abi.h).
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_CONVERSION_CONVTORUNTIME_CONVTORUNTIME_H
#define GM_DIALECTS_GM_CONVERSION_CONVTORUNTIME_CONVTORUNTIME_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir::gm {

/// The host function's name (abi.h). The artifact calls its C interface,
/// _mlir_ciface_gmrt_conv2d, with descriptors by pointer.
constexpr llvm::StringLiteral kHostConv2D = "gmrt_conv2d";

/// The declaration of gmrt_conv2d in |module|, added when missing:
/// (i32 kind, i64 stride_h, i64 stride_w, i64 pad_top, i64 pad_left,
///  memref<?x?x?x?xf32> a, b, out), with `llvm.emit_c_interface`.
func::FuncOp declareHostConv2D(ModuleOp module);

/// gm.host_conv2d's BufferizableOpInterface.
void registerHostConv2DBufferization(DialectRegistry &registry);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_CONVERSION_CONVTORUNTIME_CONVTORUNTIME_H
