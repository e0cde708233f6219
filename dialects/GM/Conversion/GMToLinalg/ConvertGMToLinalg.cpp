//===- ConvertGMToLinalg.cpp - the convert-gm-to-linalg pass --------------===//
//
// A dialect conversion: every gm op is illegal except the distribution
// constructors, which the patterns of gm.sample read and which are dead
// once their samples are lowered (erased at the end); !gm.key becomes
// tensor<i64>. Expects what gm-to-abi and gm-decompose leave: func.func
// bodies of core gm ops on tensors.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/Conversion/GMToLinalg/GMToLinalg.h"

#include "dialects/GM/Conversion/Passes.h"
#include "dialects/GM/IR/GMOps.h"
#include "dialects/GM/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"

#include <mutex>

namespace mlir::gm {
#define GEN_PASS_DEF_CONVERTGMTOLINALGPASS
#include "dialects/GM/Conversion/Passes.h.inc"
} // namespace mlir::gm

using namespace mlir;
using namespace mlir::gm;

void mlir::gm::populateGMToLinalgTypeConversion(TypeConverter &converter) {
  converter.addConversion([](Type t) { return t; });
  converter.addConversion([](KeyType t) -> Type {
    return RankedTensorType::get({}, IntegerType::get(t.getContext(), 64));
  });
}

void mlir::gm::populateGMToLinalgPatterns(TypeConverter &converter, RewritePatternSet &patterns) {
  populateElementwisePatterns(converter, patterns);
  populateReductionPatterns(converter, patterns);
  populateShapePatterns(converter, patterns);
  populateProductPatterns(converter, patterns);
  populateRandomPatterns(converter, patterns);
  populateOptimizerPatterns(converter, patterns);
  populateAutoregressivePatterns(converter, patterns);
}

/// The distribution constructors: legal during the conversion, read by the
/// patterns of the samples that use them.
static bool isDistribution(Operation *op) {
  return isa<NormalOp, BernoulliOp, CategoricalOp, UniformOp, MixtureNormalOp,
             DiscretizedLogisticOp>(op);
}

bool mlir::gm::hasCPULowering(Operation *op) {
  // The root op names of the conversion's and gm-decompose's patterns:
  // what has a pattern is what lowers.
  static llvm::StringSet<> lowered;
  static std::once_flag once;
  std::call_once(once, [ctx = op->getContext()] {
    TypeConverter converter;
    populateGMToLinalgTypeConversion(converter);
    RewritePatternSet patterns(ctx);
    populateGMToLinalgPatterns(converter, patterns);
    populateDecomposePatterns(patterns);
    for (const std::unique_ptr<RewritePattern> &p : patterns.getNativePatterns())
      if (std::optional<OperationName> root = p->getRootKind())
        lowered.insert(root->getStringRef());
  });
  return isDistribution(op) || lowered.contains(op->getName().getStringRef());
}

namespace {

struct ConvertGMToLinalg
    : public mlir::gm::impl::ConvertGMToLinalgPassBase<ConvertGMToLinalg> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    TypeConverter converter;
    populateGMToLinalgTypeConversion(converter);
    RewritePatternSet patterns(ctx);
    populateGMToLinalgPatterns(converter, patterns);
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, scf::SCFDialect,
                           bufferization::BufferizationDialect, func::FuncDialect>();
    target.addLegalOp<UnrealizedConversionCastOp>();
    target.addIllegalDialect<GMDialect>();
    target.addLegalOp<NormalOp, BernoulliOp, CategoricalOp, UniformOp, MixtureNormalOp,
                      DiscretizedLogisticOp>();
    // gm-conv-to-runtime's calls, bufferized into gmrt_conv2d calls.
    target.addLegalOp<HostConv2DOp>();
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    SmallVector<Operation *> dead;
    getOperation().walk([&](Operation *op) {
      if (isDistribution(op))
        dead.push_back(op);
    });
    for (Operation *op : llvm::reverse(dead)) {
      if (!op->use_empty()) {
        op->emitError() << "is used by something other than a gm.sample; no lowering";
        return signalPassFailure();
      }
      op->erase();
    }
  }
};

} // namespace
