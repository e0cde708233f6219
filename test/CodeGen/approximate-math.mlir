// RUN: gm-opt %s --gm-approximate-math | FileCheck %s

// exp, log and tanh become f32 arithmetic (no math call left for libm), which
// LLVM vectorises with the loop around them; sqrt stays, as LLVM lowers it
// to one instruction.
// CHECK-LABEL: func.func @f
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK-NOT: math.tanh
// CHECK: arith.mulf
// CHECK: math.sqrt
func.func @f(%x: f32) -> (f32, f32, f32, f32) {
  %e = math.exp %x : f32
  %l = math.log %x : f32
  %t = math.tanh %x : f32
  %s = math.sqrt %x : f32
  return %e, %l, %t, %s : f32, f32, f32, f32
}
