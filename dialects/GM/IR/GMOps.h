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

#define GET_OP_CLASSES
#include "dialects/GM/IR/GMOps.h.inc"

namespace mlir::gm {
/// The gm.data named by each leading argument of an objective or derived
/// function (its `inputs`), or null for a net.
ArrayAttr getDataInputs(Operation *fn);
} // namespace mlir::gm

#endif // GM_DIALECTS_GM_IR_GMOPS_H
