//===- Passes.h - gm conversions to upstream dialects -----------*- C++ -*-===//

#ifndef GM_DIALECTS_GM_CONVERSION_PASSES_H
#define GM_DIALECTS_GM_CONVERSION_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::gm {

#define GEN_PASS_DECL
#include "dialects/GM/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/GM/Conversion/Passes.h.inc"

} // namespace mlir::gm

#endif // GM_DIALECTS_GM_CONVERSION_PASSES_H
