//===- GMInterfaces.td - gm op interfaces ------------------*- tablegen -*-===//
//
// DifferentiableOpInterface: the vector-Jacobian product of an op, built as
// gm IR next to the op's definition (GMOps.cpp, "Gradient rules"). The
// autodiff pass calls it in reverse program order.
//
//===----------------------------------------------------------------------===//

#ifndef GM_INTERFACES_TD
#define GM_INTERFACES_TD

include "mlir/IR/OpBase.td"

def GM_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::gm";
  let description = [{
    An op whose results can be differentiated with respect to its operands.
    `buildVJP` receives the adjoint of each result (a null Value where a
    result has none, which means zero) and appends one adjoint per operand
    (null where the operand gets none: integer, index, key and distribution
    operands, and operands the op is constant in). Ops are built with `b`,
    right after the forward op; adjoints have the type of what they are the
    adjoint of.
  }];
  let methods = [
    InterfaceMethod<"Builds the adjoints of the operands.",
      "::mlir::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$b, "::mlir::ArrayRef<::mlir::Value>":$resultAdjoints,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandAdjoints)>,
  ];
}

#endif // GM_INTERFACES_TD
