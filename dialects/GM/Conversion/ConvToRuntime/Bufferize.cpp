//===- Bufferize.cpp - gm.host_conv2d on buffers: the call of gmrt_conv2d -===//
//
// One-shot bufferization of gm.host_conv2d: it reads both operands, writes
// none of them, and its result is a new allocation. Bufferized, it is
//
//   %out = memref.alloc(%batch) : memref<...>        (64-byte aligned)
//   call @gmrt_conv2d(%kind, %sh, %sw, %pt, %pl, %a, %b, %out)
//
// with identity-layout operands (a strided view is copied first: the host
// takes contiguous NCHW / OIHW), cast to the declaration's
// memref<?x?x?x?xf32>.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/ConvToRuntime/ConvToRuntime.h"

#include "dialects/GM/IR/GMDialect.h"
#include "dialects/GM/IR/GMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::gm;
using namespace mlir::bufferization;

namespace {

/// |buffer| itself when its layout is the identity, else a contiguous copy.
Value contiguous(RewriterBase &rw, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getLayout().isIdentity())
    return buffer;
  auto plain = MemRefType::get(type.getShape(), type.getElementType());
  SmallVector<Value> dyn;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dyn.push_back(rw.create<memref::DimOp>(loc, buffer, i));
  Value copy = rw.create<memref::AllocOp>(loc, plain, dyn, rw.getI64IntegerAttr(64));
  rw.create<memref::CopyOp>(loc, buffer, copy);
  return copy;
}

struct HostConv2DBufferization
    : public BufferizableOpInterface::ExternalModel<HostConv2DBufferization, HostConv2DOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &, const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &, const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }

  LogicalResult bufferize(Operation *op, RewriterBase &rw,
                          const BufferizationOptions &options) const {
    auto conv = cast<HostConv2DOp>(op);
    Location loc = op->getLoc();
    FailureOr<Value> a = getBuffer(rw, conv.getA(), options);
    FailureOr<Value> b = getBuffer(rw, conv.getB(), options);
    if (failed(a) || failed(b))
      return failure();
    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<func::FuncOp>(kHostConv2D);
    if (!callee)
      return op->emitOpError() << "needs the declaration of @" << kHostConv2D
                               << " (gm-conv-to-runtime adds it)";
    auto any4 = cast<MemRefType>(callee.getFunctionType().getInput(5));
    RankedTensorType result = conv.getType();
    // A dynamic batch: the first operand's (every direction shares N).
    SmallVector<Value> dyn;
    if (result.isDynamicDim(0))
      dyn.push_back(rw.create<memref::DimOp>(loc, *a, 0));
    Value out = rw.create<memref::AllocOp>(
        loc, MemRefType::get(result.getShape(), result.getElementType()), dyn,
        rw.getI64IntegerAttr(64));
    auto i64 = [&](int64_t v) -> Value { return rw.create<arith::ConstantIntOp>(loc, v, 64); };
    auto cast4 = [&](Value m) -> Value { return rw.create<memref::CastOp>(loc, any4, m); };
    rw.create<func::CallOp>(
        loc, callee,
        ValueRange{rw.create<arith::ConstantIntOp>(loc, conv.getKind(), 32), i64(conv.getStride()[0]),
                   i64(conv.getStride()[1]), i64(conv.getPadding()[0]),
                   i64(conv.getPadding()[1]), cast4(contiguous(rw, loc, *a)),
                   cast4(contiguous(rw, loc, *b)), cast4(out)});
    replaceOpWithBufferizedValues(rw, op, out);
    return success();
  }
};

} // namespace

void mlir::gm::registerHostConv2DBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GMDialect *) {
    HostConv2DOp::attachInterface<HostConv2DBufferization>(*ctx);
  });
}
