//===- CheckNumerics.cpp - a finiteness check after every computed buffer -===//
//
// `gmc -check-numerics` runs this after bufferization: every op that
// computes an f32 buffer (a linalg op other than a fill or copy, a call of
// the host's convolution) is followed by
//
//   call @gmrt_check_finite(%site : i32, %buffer : memref<*xf32>)
//
// and the module records, per site, where the op came from in the .gm file
// (gm.check_sites: one "file:line:col: what" string per site, emitted as
// the artifact's gm_check_sites global by addArtifactABI). With
// `gmrun train --check-numerics` the host checks each buffer as it is
// written and names the first site that produced NaN or Inf, so a
// diverging run says which op diverged, not only that the loss did.
//
// Runs before gm-matmul-to-blas: products are still linalg ops whose
// output operand is the buffer to check. Fills are skipped, and nothing is
// placed between a zero fill and its product (gm-matmul-to-blas folds that
// fill into beta = 0, and a check there would read the unfilled buffer).
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/Passes.h"

#include "dialects/GM/Conversion/ConvToRuntime/ConvToRuntime.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::gm {
#define GEN_PASS_DEF_GMCHECKNUMERICSPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;

namespace {

constexpr StringLiteral kCheck = "gmrt_check_finite";

/// Every file:line:col inside |loc| (inlined calls: the callee's own
/// location first; fused ops: each part), in order, without repeats.
void sourceLocations(Location loc, llvm::SetVector<FileLineColLoc> &out) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    out.insert(f);
  else if (auto c = dyn_cast<CallSiteLoc>(loc))
    sourceLocations(c.getCallee(), out);
  else if (auto n = dyn_cast<NameLoc>(loc))
    sourceLocations(n.getChildLoc(), out);
  else if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      sourceLocations(l, out);
}

/// "dcgan.gm:12:9, dcgan.gm:12:31: linalg.matmul_transpose_b, 64x6272".
std::string describeSite(Operation *op, Value buffer) {
  llvm::SetVector<FileLineColLoc> locs;
  sourceLocations(op->getLoc(), locs);
  std::string s;
  llvm::raw_string_ostream os(s);
  unsigned shown = 0;
  for (FileLineColLoc l : locs) {
    if (shown++ == 3) {
      os << ", ...";
      break;
    }
    os << (shown > 1 ? ", " : "") << l.getFilename().getValue() << ":" << l.getLine() << ":"
       << l.getColumn();
  }
  if (locs.empty())
    os << "(no .gm location)";
  os << ": ";
  if (auto call = dyn_cast<func::CallOp>(op))
    os << "call @" << call.getCallee();
  else
    os << op->getName().getStringRef();
  os << ", ";
  auto type = cast<MemRefType>(buffer.getType());
  llvm::interleave(
      type.getShape(), os,
      [&](int64_t d) { os << (ShapedType::isDynamic(d) ? std::string("B") : std::to_string(d)); },
      "x");
  return s;
}

/// The f32 buffers |op| computes: a linalg op's outputs, a convolution
/// call's result (its last operand).
SmallVector<Value> computedBuffers(Operation *op) {
  SmallVector<Value> out;
  auto isF32Buffer = [](Value v) {
    auto t = dyn_cast<MemRefType>(v.getType());
    return t && t.getElementType().isF32();
  };
  if (isa<linalg::FillOp, linalg::CopyOp>(op))
    return out;
  if (auto lin = dyn_cast<linalg::LinalgOp>(op)) {
    if (!lin.hasPureBufferSemantics())
      return out;
    for (Value v : lin.getDpsInits())
      if (isF32Buffer(v))
        out.push_back(v);
  } else if (auto call = dyn_cast<func::CallOp>(op)) {
    if (call.getCallee() == mlir::gm::kHostConv2D)
      out.push_back(call.getOperands().back());
  }
  return out;
}

struct CheckNumerics : public mlir::gm::impl::GMCheckNumericsPassBase<CheckNumerics> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    auto unranked = UnrankedMemRefType::get(b.getF32Type(), /*memorySpace=*/nullptr);
    SmallVector<Attribute> sites;
    func::FuncOp check;
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (!computedBuffers(op).empty())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (!check) {
        b.setInsertionPointToEnd(module.getBody());
        check = b.create<func::FuncOp>(module.getLoc(), kCheck,
                                       b.getFunctionType({b.getI32Type(), unranked}, {}));
        check.setPrivate();
        check->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
      }
      b.setInsertionPointAfter(op);
      for (Value buffer : computedBuffers(op)) {
        int32_t site = (int32_t)sites.size();
        sites.push_back(b.getStringAttr(describeSite(op, buffer)));
        Value id = b.create<arith::ConstantIntOp>(op->getLoc(), site, 32);
        Value cast = b.create<memref::CastOp>(op->getLoc(), unranked, buffer);
        b.create<func::CallOp>(op->getLoc(), check, ValueRange{id, cast});
      }
    }
    module->setAttr("gm.check_sites", b.getArrayAttr(sites));
  }
};

} // namespace
