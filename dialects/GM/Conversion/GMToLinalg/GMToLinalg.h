//===- GMToLinalg.h - gm core ops to linalg, tensor, arith, math -*- C++ -*-===//
//
// The conversion of gm's core ops (what gm-decompose leaves) inside
// func.func bodies into linalg, tensor, arith, math and scf on tensors, one
// pattern per op, grouped by op family. Each family's patterns are
// populated by its own function and tested on their own, in test/ beside
// this file.
//
// Preconditions: the ops sit in func.func bodies written by gm-to-abi (no
// gm.param_ref, gm.assign or gm.call left), composites are decomposed, and
// !gm.key values are what the type converter makes them: tensor<i64>.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_CONVERSION_GMTOLINALG_GMTOLINALG_H
#define GM_DIALECTS_GM_CONVERSION_GMTOLINALG_GMTOLINALG_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::gm {

/// Elementwise arithmetic and activations, constants, batch sizes and
/// broadcasts (Elementwise.cpp).
void populateElementwisePatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// Sums, means, softmax and log-softmax (Reductions.cpp).
void populateReductionPatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// Reshape, transpose, slice, concat, shift, upsample, average pooling,
/// one-hot rows (Shapes.cpp).
void populateShapePatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// Matrix products, linear layers, convolutions and their transposes and
/// weight gradients, batch norm (Products.cpp).
void populateProductPatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// Samples of every distribution family, importance-weighted bounds
/// (Random.cpp).
void populateRandomPatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// NADE's conditionals and their gradient as loops over the pixels
/// (Autoregressive.cpp).
void populateAutoregressivePatterns(TypeConverter &converter, RewritePatternSet &patterns);
/// Adam and SGD updates, in place (Optimizers.cpp).
void populateOptimizerPatterns(TypeConverter &converter, RewritePatternSet &patterns);

/// Every family above.
void populateGMToLinalgPatterns(TypeConverter &converter, RewritePatternSet &patterns);

/// !gm.key -> tensor<i64>; tensors stay as they are.
void populateGMToLinalgTypeConversion(TypeConverter &converter);

/// True when CPU code generation can lower |op|: a core op with a pattern
/// here, a composite gm-decompose rewrites, or a distribution constructor
/// (read by the gm.sample that uses it).
bool hasCPULowering(Operation *op);

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_CONVERSION_GMTOLINALG_GMTOLINALG_H
