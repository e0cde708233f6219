//===- ConvToRuntime.cpp - gm convolutions to the host's gmrt_conv2d ------===//
//
// gm-to-linalg lowers a convolution to an im2col matrix and one product:
// a copy of the input KH·KW times its size, a transpose of the result, and
// for a transposed convolution a stride-dilated input that is mostly
// zeros. oneDNN's direct convolutions skip all three; this pass calls them
// through the host (abi.h):
//
//   void gmrt_conv2d(i32 kind, i64 stride_h, i64 stride_w, i64 pad_top,
//                    i64 pad_left, memref a, memref b, memref out)
//
// Every convolution gm differentiates is one direction of the convolution
// src [N, C, H, W] * weights [F, C, KH, KW] -> dst [N, F, OH, OW]:
//
//   gm.conv2d(x, w)                 forward            a = x, b = w
//   gm.conv2d_transpose(x, w)       backward-data      a = x (as dst), b = w
//   gm.conv2d_weight_grad(x, g)     backward-weights   a = x, b = g
//
// Each becomes a gm.host_conv2d on tensors, which one-shot bufferization
// turns into the call (Bufferize.cpp): the operands' buffers (copied when
// they are strided views) and a new result buffer. A bias becomes a
// broadcast-add generic, which elementwise fusion merges into the
// activation after it.
//
// (The call cannot be made here, on buffers taken with
// bufferization.to_memref: CSE merges two to_memref of one tensor, and the
// second convolution would then read a buffer that in-place bufferization
// has already let later ops overwrite.)
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/ConvToRuntime/ConvToRuntime.h"

#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/IR/GMOps.h"

#include "runtime/include/gmrt/abi.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMCONVTORUNTIMEPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

namespace {

/// One call: its direction, the operands and the geometry of the
/// underlying convolution's windows.
struct ConvCall {
  int32_t kind;
  Value a, b, bias;
  ArrayRef<int64_t> stride, padding;
  RankedTensorType src, weights, dst; // of the underlying convolution
};

/// The bottom/right padding the windows read past the input: oneDNN takes
/// it as padding and needs it non-negative.
bool windowsFit(const ConvCall &c) {
  for (int d = 0; d < 2; ++d) {
    int64_t end = (c.dst.getDimSize(2 + d) - 1) * c.stride[d] + c.weights.getDimSize(2 + d);
    if (end - c.src.getDimSize(2 + d) - c.padding[d] < 0)
      return false;
  }
  return true;
}

std::optional<ConvCall> describe(Operation *op) {
  if (auto conv = dyn_cast<Conv2DOp>(op))
    return ConvCall{GM_CONV_FORWARD, conv.getInput(), conv.getWeight(), conv.getBias(),
                    conv.getStride(), conv.getPadding(), conv.getInput().getType(),
                    conv.getWeight().getType(), conv.getType()};
  if (auto conv = dyn_cast<Conv2DTransposeOp>(op))
    return ConvCall{GM_CONV_BACKWARD_DATA, conv.getInput(), conv.getWeight(), conv.getBias(),
                    conv.getStride(), conv.getPadding(), conv.getType(),
                    conv.getWeight().getType(), conv.getInput().getType()};
  if (auto grad = dyn_cast<Conv2DWeightGradOp>(op))
    return ConvCall{GM_CONV_BACKWARD_WEIGHTS, grad.getInput(), grad.getGrad(), Value(),
                    grad.getStride(), grad.getPadding(), grad.getInput().getType(),
                    grad.getType(), grad.getGrad().getType()};
  return std::nullopt;
}

} // namespace

func::FuncOp mlir::gm::declareHostConv2D(ModuleOp module) {
  if (auto f = module.lookupSymbol<func::FuncOp>(kHostConv2D))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i64 = b.getI64Type();
  auto any4 = MemRefType::get(SmallVector<int64_t>(4, ShapedType::kDynamic), b.getF32Type());
  auto f = b.create<func::FuncOp>(
      module.getLoc(), kHostConv2D,
      b.getFunctionType({b.getI32Type(), i64, i64, i64, i64, any4, any4, any4}, {}));
  f.setPrivate();
  // The host implements the C interface: descriptors by pointer.
  f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  return f;
}

namespace {

void lower(Operation *op, const ConvCall &c) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  auto result = cast<RankedTensorType>(op->getResult(0).getType());
  Value y = b.create<HostConv2DOp>(loc, result, c.a, c.b, c.kind, c.stride, c.padding);
  if (c.bias) {
    // y[n, f, i, j] + bias[f].
    MLIRContext *ctx = b.getContext();
    AffineMap id = b.getMultiDimIdentityMap(4);
    AffineMap channel = AffineMap::get(4, 0, {b.getAffineDimExpr(1)}, ctx);
    auto add = b.create<linalg::GenericOp>(
        loc, result, ValueRange{c.bias}, ValueRange{y}, ArrayRef<AffineMap>{channel, id},
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [](OpBuilder &nb, Location l, ValueRange args) {
          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, args[1], args[0])});
        });
    y = add.getResult(0);
  }
  op->getResult(0).replaceAllUsesWith(y);
  op->erase();
}

struct ConvToRuntime : public mlir::gm::impl::GMConvToRuntimePassBase<ConvToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Described when lowered: an earlier lowering replaces the values a
    // later convolution reads.
    SmallVector<Operation *> convs;
    module.walk([&](Operation *op) {
      if (std::optional<ConvCall> c = describe(op); c && windowsFit(*c))
        convs.push_back(op);
    });
    if (convs.empty())
      return;
    declareHostConv2D(module);
    for (Operation *op : convs)
      lower(op, *describe(op));
  }
};

} // namespace
