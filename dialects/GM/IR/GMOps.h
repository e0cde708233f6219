//===- GMOps.h - gm dialect operations --------------------------*- C++ -*-===//
//
// The operations of the gm dialect; their definitions and documentation are
// in GMOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef GM_DIALECTS_GM_IR_GMOPS_H
#define GM_DIALECTS_GM_IR_GMOPS_H

#include "dialects/GM/IR/GMDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/GM/IR/GMInterfaces.h.inc"

namespace mlir::OpTrait::gm {
/// An elementwise op that the .gm language calls by its mnemonic, as in
/// `gelu(x)`: one f32 operand, the result of its type, and f64 attributes
/// that the call may pass by name or position (the op's defaults otherwise).
/// MLIRGen needs no code for it (Builtins.cpp).
template <typename ConcreteType>
class ElementwiseBuiltin : public TraitBase<ConcreteType, ElementwiseBuiltin> {};
} // namespace mlir::OpTrait::gm

#define GET_OP_CLASSES
#include "dialects/GM/IR/GMOps.h.inc"

namespace mlir::gm {
/// The gm.data named by each leading argument of an objective or derived
/// function (its `inputs`), or null for a net.
ArrayAttr getDataInputs(Operation *fn);

/// 1 where gm.masked_linear's weight |w| (OUT, IN) is used, 0 elsewhere:
/// input i has degree i / IN, output o degree o / OUT; mask A keeps
/// i / IN < o / OUT, mask B i / IN <= o / OUT (compared exactly).
DenseElementsAttr getLinearMask(RankedTensorType w, MaskKind kind);

/// 1 where a PixelCNN mask keeps a tap of the kernel |w| (O, C, KH, KW):
/// rows above the centre, and the centre row left of (A) or up to (B) it.
DenseElementsAttr getConvMask(RankedTensorType w, MaskKind kind);
} // namespace mlir::gm

#endif // GM_DIALECTS_GM_IR_GMOPS_H
